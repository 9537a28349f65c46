using Meshwire.Control.Replication;
using Npgsql;

namespace Meshwire.Control.Tests;

/// <summary>
/// Two replicas on one PostgreSQL database: a change written through replica A reaches the streams of replica B
/// (LISTEN/NOTIFY), also after B's listening connection was killed.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ReplicaFanOutTestsOnPostgres(PostgresServer postgres) : IAsyncLifetime
{
    private const int FanOutMs = 2000;
    private TestServer _a = null!;
    private TestServer _b = null!;

    public async Task InitializeAsync()
    {
        if (PostgresServer.SkipReason is not null)
        {
            return;
        }

        var database = await postgres.CreateDatabaseAsync();
        _a = await TestServer.StartAsync(database: database);
        _b = await TestServer.StartAsync(database: database);
    }

    public async Task DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }
    }

    [DbFact]
    public async Task Register_ThroughReplicaA_AppearsInStreamOnReplicaB()
    {
        var x = await _b.JoinAsync("xray");
        await using var watch = new StreamWatcher(x);
        await watch.WaitAsync(v => v.Peers.Count == 0);
        var y = await _a.JoinAsync("yankee");
        var view = await watch.WaitAsync(v => v.Peers.Count == 1, FanOutMs);
        Assert.Equal(y.NodeKey, view.Peers.Values.Single().NodeKey);
    }

    [DbFact]
    public async Task DeleteNode_ThroughReplicaA_DisappearsFromStreamOnReplicaB()
    {
        var x = await _b.JoinAsync("xray");
        await _a.JoinAsync("yankee");
        await using var watch = new StreamWatcher(x);
        await watch.WaitAsync(v => v.Peers.Count == 1, FanOutMs);
        await _a.Service.DeleteNodeAsync("yankee");
        await watch.WaitAsync(v => v.Peers.Count == 0, FanOutMs);
    }

    [DbFact]
    public async Task SetPolicy_ThroughReplicaA_ChangesFilterOnReplicaB()
    {
        var x = await _b.JoinAsync("xray", await _b.AuthKeyAsync("alice@example.com"));
        await _a.JoinAsync("yankee", await _a.AuthKeyAsync("bob@example.com"));
        await using var watch = new StreamWatcher(x);
        await watch.WaitAsync(v => v.Peers.Count == 1 && v.PacketFilter.Any(r => r.Sources.Contains("0.0.0.0/0")), FanOutMs);
        await _a.Service.SetPolicyAsync("""{"acls": [{"action": "accept", "src": ["alice@example.com"], "dst": ["alice@example.com:*"]}]}""");
        var view = await watch.WaitAsync(v => v.Peers.Count == 0 && !v.PacketFilter.Any(r => r.Sources.Contains("0.0.0.0/0")), FanOutMs);
        Assert.Equal(view.Self.Addresses, Assert.Single(view.PacketFilter).Sources);
        Assert.Contains("alice@example.com", _b.Service.GetPolicy().Text, StringComparison.Ordinal);
    }

    [DbFact]
    public async Task Listener_BackendTerminated_ReconnectsAndLaterChangeArrives()
    {
        var x = await _b.JoinAsync("xray");
        await using var watch = new StreamWatcher(x);
        await watch.WaitAsync(v => v.Peers.Count == 0);
        var first = await ListenerPidAsync(_b, TimeSpan.FromSeconds(10), except: null);
        await using (var connection = new NpgsqlConnection(_b.Database))
        {
            await connection.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT pg_terminate_backend(@pid)", connection);
            kill.Parameters.AddWithValue("pid", first);
            Assert.True((bool)(await kill.ExecuteScalarAsync())!);
        }

        await ListenerPidAsync(_b, TimeSpan.FromSeconds(10), except: first);
        var y = await _a.JoinAsync("yankee");
        var view = await watch.WaitAsync(v => v.Peers.Count == 1, FanOutMs);
        Assert.Equal(y.NodeKey, view.Peers.Values.Single().NodeKey);
    }

    /// <summary>The backend PID of the replica's listening session, waiting (bounded) for one other than <paramref name="except"/>.</summary>
    private static async Task<int> ListenerPidAsync(TestServer server, TimeSpan timeout, int? except)
    {
        var deadline = DateTime.UtcNow + timeout;
        await using var connection = new NpgsqlConnection(server.Database);
        await connection.OpenAsync();
        while (true)
        {
            // state 'idle' after LISTEN: the session is up and listening, not still connecting.
            await using var query = new NpgsqlCommand("SELECT pid FROM pg_stat_activity WHERE application_name = @name AND state = 'idle'", connection);
            query.Parameters.AddWithValue("name", ChangeListener.ApplicationNamePrefix + server.Service.ReplicaId);
            await using (var reader = await query.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    var pid = reader.GetInt32(0);
                    if (pid != except)
                    {
                        return pid;
                    }
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no listening session of replica {server.Service.ReplicaId} (other than {except})");
            }

            await Task.Delay(50);
        }
    }
}
