namespace Meshwire.Control.Tests;

public abstract class PersistenceTests(ITestDatabase database) : DatabaseTests(database)
{
    [DbFact]
    public async Task Restart_SameState_UsersNodesKeysAndPolicyIntact()
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-persist").FullName;
        string serverKey;
        object before;
        // Stop only the server: disposing the TestServer would delete the state directory.
        var server = await TestServer.StartAsync(state: state, database: await Database.CreateDatabaseAsync());
        {
            await server.JoinAsync("alpha");
            await server.JoinAsync("beta", await server.AuthKeyAsync("bob@example.com", reusable: true, tags: ["tag:web"]));
            await server.Service.SetPolicyAsync("""{"acls": [{"action": "accept", "src": ["*"], "dst": ["tag:web:80"]}], "tagOwners": {"tag:web": ["bob@example.com"]}}""");
            await server.Service.SetRelaysAsync(
            [
                new Api.RelayInfo(1, "lab", "Lab", "relay.lab.internal", "10.0.0.9", null, 8443, 3478, InsecureHttp: true),
                new Api.RelayInfo(2, "par", "Paris", "relay.par.example", null, null, 443, 3478),
            ]);
            serverKey = server.Server.ServerKey.Key.ToString();
            before = await SnapshotAsync(server.Service);
            await server.Server.DisposeAsync();
        }

        await using var restarted = await TestServer.StartAsync(state: state, database: server.Database);
        Assert.Equal(serverKey, restarted.Server.ServerKey.Key.ToString());
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(before), System.Text.Json.JsonSerializer.Serialize(await SnapshotAsync(restarted.Service)));
    }

    private static async Task<object> SnapshotAsync(ControlService service) => new
    {
        Users = (await service.ListUsersAsync()).Select(u => u.Login).ToList(),
        Keys = (await service.ListAuthKeysAsync()).Select(k => (k.Prefix, k.UseCount, k.Reusable, string.Join(',', k.Tags))).Select(t => t.ToString()).ToList(),
        Nodes = (await service.ListNodesAsync()).Select(n => $"{n.Id} {n.Name} {n.NodeKey} {n.MachineKey} {n.IPv4} {n.IPv6} {string.Join(',', n.Tags)} {n.KeyExpiry:O}").ToList(),
        Policy = service.GetPolicy().Text,
        Relays = (await service.ListRelaysAsync()).Select(r => r.ToString()).ToList(),
    };
}

public sealed class PersistenceTestsOnSqlite() : PersistenceTests(SqliteDatabase.Instance);

[Collection(PostgresCollection.Name)]
public sealed class PersistenceTestsOnPostgres(PostgresServer postgres) : PersistenceTests(postgres);
