using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using Meshwire.Control.Api;
using Meshwire.Control.Client;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace Meshwire.Control.Tests;

/// <summary>
/// Durability of acknowledged writes: the published server is killed with SIGKILL while REST and channel writes are
/// in flight; after a restart on the same state directory every write that was answered 2xx is there.
/// </summary>
public sealed class CrashTests(ITestOutputHelper log)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    // Bounds: the writes run until this many succeeded (or the time limit), then the kill lands mid-stream.
    private const int AcknowledgedBeforeKill = 60;
    private static readonly TimeSpan WriteTimeLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Kill9_DuringConcurrentWrites_EveryAcknowledgedWriteSurvives()
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-crash").FullName;
        try
        {
            var admin = await PublishedServer.CreateApiKeyAsync(state);
            var users = new ConcurrentBag<string>();
            var authKeys = new ConcurrentBag<string>();
            var apiKeys = new ConcurrentBag<string>();
            var nodes = new ConcurrentBag<string>();
            await using (var server = await PublishedServer.StartAsync(state))
            {
                using var http = server.Http(admin);
                (await http.PostAsJsonAsync("/api/v1/users", new CreateUserRequest("alice", null))).EnsureSuccessStatusCode();
                users.Add("alice");
                var joinKey = (await (await http.PostAsJsonAsync("/api/v1/authkeys", new CreateAuthKeyRequest("alice", Reusable: true)))
                    .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<AuthKeyInfo>(Json))!;
                authKeys.Add(joinKey.Prefix);
                var serverKey = await ControlClient.FetchServerKeyAsync(server.Url);

                using var stop = new CancellationTokenSource();
                var counter = 0;
                async Task Loop(Func<int, Task> write)
                {
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            await write(Interlocked.Increment(ref counter));
                        }
                        catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException
                                                      or ControlProtocolException or System.Net.WebSockets.WebSocketException)
                        {
                            // Unacknowledged: the server died under it (or refused it); nothing is expected of it.
                        }
                    }
                }

                var workers = new List<Task>
                {
                    Loop(async n =>
                    {
                        var login = $"user{n}";
                        using var r = await http.PostAsJsonAsync("/api/v1/users", new CreateUserRequest(login, null), stop.Token);
                        if (r.IsSuccessStatusCode)
                        {
                            users.Add(login);
                        }
                    }),
                    Loop(async n =>
                    {
                        using var r = await http.PostAsJsonAsync("/api/v1/authkeys", new CreateAuthKeyRequest("alice", Reusable: n % 2 == 0), stop.Token);
                        if (r.IsSuccessStatusCode)
                        {
                            authKeys.Add((await r.Content.ReadFromJsonAsync<AuthKeyInfo>(Json, stop.Token))!.Prefix);
                        }
                    }),
                    Loop(async _ =>
                    {
                        using var r = await http.PostAsJsonAsync("/api/v1/apikeys", new CreateApiKeyRequest(), stop.Token);
                        if (r.IsSuccessStatusCode)
                        {
                            apiKeys.Add((await r.Content.ReadFromJsonAsync<ApiKeyInfo>(Json, stop.Token))!.Key!);
                        }
                    }),
                    Loop(async n =>
                    {
                        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey(), serverKey, cancellationToken: stop.Token);
                        var nodePrivate = X25519Keys.GeneratePrivateKey();
                        var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
                        var result = await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = $"node{n}", AuthKey = joinKey.Key }, nodePrivate, stop.Token);
                        Assert.True(result.Authorized);
                        nodes.Add(nodeKey.ToString());
                    }),
                };

                var deadline = DateTime.UtcNow + WriteTimeLimit;
                while (users.Count + authKeys.Count + apiKeys.Count + nodes.Count < AcknowledgedBeforeKill && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20);
                }

                Assert.All(workers, w => Assert.False(w.IsCompleted, "a writer stopped before the kill"));
                await server.KillAsync();
                await stop.CancelAsync();
                await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
                log.WriteLine($"acknowledged before kill -9: {users.Count} users, {authKeys.Count} auth keys, {apiKeys.Count} API keys, {nodes.Count} nodes");
                Assert.True(nodes.Count > 0 && users.Count > 1 && apiKeys.Count > 0, $"too few writes before the kill: {server.Output}");
            }

            Assert.Equal("ok", IntegrityCheck(Path.Combine(state, "control.db")));

            await using var restarted = await PublishedServer.StartAsync(state);
            using var after = restarted.Http(admin);
            var userLogins = (await after.GetFromJsonAsync<List<UserInfo>>("/api/v1/users", Json))!.Select(u => u.Login).ToHashSet();
            Assert.Subset(userLogins, users.ToHashSet());
            var keyPrefixes = (await after.GetFromJsonAsync<List<AuthKeyInfo>>("/api/v1/authkeys", Json))!.Select(k => k.Prefix).ToHashSet();
            Assert.Subset(keyPrefixes, authKeys.ToHashSet());
            var nodeKeys = (await after.GetFromJsonAsync<List<NodeInfo>>("/api/v1/nodes", Json))!.Select(n => n.NodeKey).ToHashSet();
            Assert.Subset(nodeKeys, nodes.ToHashSet());
            foreach (var key in apiKeys)
            {
                using var withKey = restarted.Http(key);
                Assert.True((await withKey.GetAsync("/api/v1/users")).IsSuccessStatusCode, "an acknowledged API key was lost");
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    private static string IntegrityCheck(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }
}
