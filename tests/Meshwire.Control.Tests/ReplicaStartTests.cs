namespace Meshwire.Control.Tests;

/// <summary>Several replicas on one PostgreSQL database: migrations run once, under the advisory lock.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ReplicaStartTestsOnPostgres(PostgresServer postgres)
{
    [DbFact]
    public async Task StartAsync_ThreeReplicasAtOnce_AllStartAndShareUsers()
    {
        var database = await postgres.CreateDatabaseAsync();
        var servers = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => TestServer.StartAsync(database: database)));
        try
        {
            await servers[0].Service.CreateUserAsync("alice");
            foreach (var server in servers)
            {
                Assert.Equal(["alice"], (await server.Service.ListUsersAsync()).Select(u => u.Login));
            }
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }
}
