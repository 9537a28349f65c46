using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

// Admin actions, the way an operator takes them: the meshwire-control verbs (over STATE/control.sock while the
// server runs, on the database when it does not) and the REST API with an API key over real TCP into the server
// namespace.
internal sealed partial class TailnetLab
{
    private HttpClient? _http;

    /// <summary>`meshwire-control --state STATE ARGS...`; check the result with EnsureSuccess.</summary>
    public Shell.Result Admin(params string[] args) =>
        Shell.Run(TimeSpan.FromSeconds(60), null, Program("meshwire-control"), ["--state", ControlState, .. args]);

    /// <summary>A reusable pre-auth key of <see cref="User"/>, pre-tagged with <paramref name="tags"/>.</summary>
    public string CreateAuthKey(params string[] tags)
    {
        List<string> args = ["authkeys", "create", "--user", User, "--reusable", "--expiry", "3600"];
        foreach (var tag in tags)
        {
            args.AddRange(["--tag", tag]);
        }

        return Admin([.. args]).EnsureSuccess("authkeys create").Output.Trim();
    }

    /// <summary>`policy set` with a HuJSON policy (refused when its tests fail).</summary>
    public void SetPolicy(string hujson)
    {
        var file = Path.Combine(ControlState, $"policy-{Guid.NewGuid():N}.hujson");
        File.WriteAllText(file, hujson);
        try
        {
            Admin("policy", "set", file).EnsureSuccess("policy set");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>`nodes delete NODE`: takes the node out of the tailnet and out of every peer's map.</summary>
    public void DeleteNode(TailnetNode node) => Admin("nodes", "delete", node.Name).EnsureSuccess($"nodes delete {node.Name}");

    /// <summary>`nodes expire NODE`: its key stops being accepted.</summary>
    public void ExpireNode(TailnetNode node) => Admin("nodes", "expire", node.Name).EnsureSuccess($"nodes expire {node.Name}");

    /// <summary>`nodes list --json`: name → online, as control sees it.</summary>
    public IReadOnlyDictionary<string, bool> NodesOnline()
    {
        var json = Admin("--json", "nodes", "list").EnsureSuccess("nodes list").Output;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("online").GetBoolean());
    }

    /// <summary>Calls the admin REST API (`/api/v1/...`) with an API key; throws with the body on a non-2xx answer.</summary>
    public async Task<string> ApiAsync(HttpMethod method, string path, string? json = null)
    {
        _http ??= CreateApiClient(Admin("apikeys", "create", "--expiry", "3600").EnsureSuccess("apikeys create").Output.Trim());
        using var request = new HttpRequestMessage(method, new Uri(ControlUrl, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {body}");
        }

        return body;
    }

    /// <summary>Puts the lab relay into the relay map every node receives.</summary>
    private Task RegisterRelayAsync() =>
        ApiAsync(HttpMethod.Put, "/api/v1/relays", $$"""
            [{"regionId": 1, "regionCode": "lab", "regionName": "Lab", "hostName": "{{ServerAddress}}", "ipv4": "{{ServerAddress}}", "port": {{RelayPort}}, "stunPort": {{StunPort}}}]
            """);

    private HttpClient CreateApiClient(string apiKey)
    {
        // The server listens inside its namespace: each connection's socket is created there.
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, token) =>
            {
                var socket = Server.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(ServerAddress), context.DnsEndPoint.Port), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }
}
