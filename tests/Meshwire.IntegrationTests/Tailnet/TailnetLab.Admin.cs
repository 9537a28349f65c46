using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

// Admin actions, the way an operator takes them: the REST API with an API key, over real TCP into the server
// namespace, while control runs; the meshwire-control verbs (which open the database directly) while it does not.
// The lab creates its user and API key with the verbs before control first starts. (The verbs would also talk to
// a running server over STATE/control.sock, but that server answers them "unauthorized" today.)
internal sealed partial class TailnetLab
{
    private HttpClient? _http;
    private string? _apiKey;

    /// <summary>`meshwire-control --state STATE ARGS...`; check the result with EnsureSuccess.</summary>
    public Shell.Result Admin(params string[] args) =>
        Shell.Run(TimeSpan.FromSeconds(60), null, Program("meshwire-control"), ["--state", ControlState, .. args]);

    /// <summary>A pre-auth key of <see cref="User"/>, pre-tagged with <paramref name="tags"/>.</summary>
    public async Task<string> CreateAuthKeyAsync(bool reusable, params string[] tags)
    {
        var body = JsonSerializer.Serialize(new { user = User, reusable, ephemeral = false, tags, expirySeconds = 3600 });
        using var key = JsonDocument.Parse(await ApiAsync(HttpMethod.Post, "/api/v1/authkeys", body));
        return key.RootElement.GetProperty("key").GetString()!;
    }

    /// <summary>Sets the HuJSON policy (refused when its tests fail).</summary>
    public Task SetPolicyAsync(string hujson) =>
        ApiAsync(HttpMethod.Put, "/api/v1/policy", JsonSerializer.Serialize(new { text = hujson }));

    /// <summary>Admin delete: takes the node out of the tailnet and out of every peer's map.</summary>
    public Task DeleteNodeAsync(string name) => ApiAsync(HttpMethod.Delete, $"/api/v1/nodes/{Uri.EscapeDataString(name)}");

    /// <summary>Admin expire: the node's key stops being accepted.</summary>
    public Task ExpireNodeAsync(string name) => ApiAsync(HttpMethod.Post, $"/api/v1/nodes/{Uri.EscapeDataString(name)}/expire");

    /// <summary>Node name → online (has a map stream), as control sees it.</summary>
    public async Task<IReadOnlyDictionary<string, bool>> NodesOnlineAsync()
    {
        using var doc = JsonDocument.Parse(await ApiAsync(HttpMethod.Get, "/api/v1/nodes"));
        return doc.RootElement.EnumerateArray().ToDictionary(n => n.GetProperty("name").GetString()!, n => n.GetProperty("online").GetBoolean());
    }

    /// <summary>Creates the lab user and the API key on the database, before the server first starts.</summary>
    private void Bootstrap()
    {
        Admin("users", "create", User).EnsureSuccess("users create");
        _apiKey = Admin("apikeys", "create", "--expiry", "3600").EnsureSuccess("apikeys create").Output.Trim();
    }

    /// <summary>Calls the admin REST API (`/api/v1/...`) with an API key; throws with the body on a non-2xx answer.</summary>
    public async Task<string> ApiAsync(HttpMethod method, string path, string? json = null)
    {
        _http ??= CreateApiClient(_apiKey ?? throw new InvalidOperationException("the lab has no API key yet"));
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
            [{"regionId": 1, "regionCode": "lab", "regionName": "Lab", "hostName": "{{ServerAddress}}", "ipv4": "{{ServerAddress}}", "port": {{RelayPort}}, "stunPort": {{StunPort}}, "insecureHttp": true}]
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
