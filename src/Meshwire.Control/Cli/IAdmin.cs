using System.Net.Http.Json;
using System.Net.Sockets;
using Meshwire.Control.Api;
using Meshwire.Control.Hosting;

namespace Meshwire.Control.Cli;

/// <summary>
/// What the admin verbs need. <see cref="SocketAdmin"/> talks to a running server over StateDirectory/control.sock
/// (so changes reach live map streams at once); <see cref="LocalAdmin"/> opens the database itself when no server
/// runs. Both return the same DTOs the REST API returns.
/// </summary>
internal interface IAdmin : IAsyncDisposable
{
    Task<UserInfo> CreateUserAsync(string login);

    Task<IReadOnlyList<UserInfo>> ListUsersAsync();

    Task<AuthKeyInfo> CreateAuthKeyAsync(CreateAuthKeyRequest request);

    Task<IReadOnlyList<AuthKeyInfo>> ListAuthKeysAsync();

    Task<AuthKeyInfo> RevokeAuthKeyAsync(string key);

    Task<IReadOnlyList<NodeInfo>> ListNodesAsync();

    Task<NodeInfo> RenameNodeAsync(string node, string name);

    Task<NodeInfo> ExpireNodeAsync(string node);

    Task<NodeInfo> ApproveNodeAsync(string node);

    Task DeleteNodeAsync(string node);

    Task<ApiKeyInfo> CreateApiKeyAsync(int? expirySeconds, string? name);

    Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync();

    Task<ApiKeyInfo> RevokeApiKeyAsync(string key);

    Task<PolicyInfo> GetPolicyAsync();

    Task<PolicyInfo> SetPolicyAsync(string text);

    Task<ExplainInfo> ExplainAsync(string source, string destination, string protocol);

    Task<IReadOnlyList<RelayInfo>> ListRelaysAsync();

    Task<IReadOnlyList<RelayInfo>> SetRelaysAsync(IReadOnlyList<RelayInfo> relays);

    static async Task<IAdmin> OpenAsync(ControlOptions options)
    {
        var socket = Path.Combine(options.StateDirectory, "control.sock");
        if (File.Exists(socket))
        {
            var admin = new SocketAdmin(socket);
            if (await admin.IsAliveAsync())
            {
                return admin;
            }

            await admin.DisposeAsync();
        }

        return new LocalAdmin(await ControlService.OpenAsync(options));
    }
}

internal sealed class LocalAdmin(ControlService service) : IAdmin
{
    public Task<UserInfo> CreateUserAsync(string login) => service.CreateUserAsync(login);

    public Task<IReadOnlyList<UserInfo>> ListUsersAsync() => service.ListUsersAsync();

    public Task<AuthKeyInfo> CreateAuthKeyAsync(CreateAuthKeyRequest request) => service.CreateAuthKeyAsync(request);

    public Task<IReadOnlyList<AuthKeyInfo>> ListAuthKeysAsync() => service.ListAuthKeysAsync();

    public Task<AuthKeyInfo> RevokeAuthKeyAsync(string key) => service.RevokeAuthKeyAsync(key);

    public Task<IReadOnlyList<NodeInfo>> ListNodesAsync() => service.ListNodesAsync();

    public Task<NodeInfo> RenameNodeAsync(string node, string name) => service.RenameNodeAsync(node, name);

    public Task<NodeInfo> ExpireNodeAsync(string node) => service.ExpireNodeAsync(node);

    public Task<NodeInfo> ApproveNodeAsync(string node) => service.ApproveNodeAsync(node);

    public Task DeleteNodeAsync(string node) => service.DeleteNodeAsync(node);

    public Task<ApiKeyInfo> CreateApiKeyAsync(int? expirySeconds, string? name) => service.CreateApiKeyAsync(expirySeconds, name);

    public Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync() => service.ListApiKeysAsync();

    public Task<ApiKeyInfo> RevokeApiKeyAsync(string key) => service.RevokeApiKeyAsync(key);

    public Task<PolicyInfo> GetPolicyAsync() => Task.FromResult(service.GetPolicy());

    public Task<PolicyInfo> SetPolicyAsync(string text) => service.SetPolicyAsync(text);

    public Task<ExplainInfo> ExplainAsync(string source, string destination, string protocol) => Task.FromResult(service.Explain(source, destination, protocol));

    public Task<IReadOnlyList<RelayInfo>> ListRelaysAsync() => service.ListRelaysAsync();

    public Task<IReadOnlyList<RelayInfo>> SetRelaysAsync(IReadOnlyList<RelayInfo> relays) => service.SetRelaysAsync(relays);

    public ValueTask DisposeAsync() => service.DisposeAsync();
}

internal sealed class SocketAdmin : IAdmin
{
    private readonly HttpClient _http;

    public SocketAdmin(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                return new NetworkStream(s, ownsSocket: true);
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri("http://control.sock/api/v1/") };
    }

    public async Task<bool> IsAliveAsync()
    {
        try
        {
            using var response = await _http.GetAsync("/healthz");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    public Task<UserInfo> CreateUserAsync(string login) => SendAsync<UserInfo>(HttpMethod.Post, "users", new CreateUserRequest(login, null));

    public Task<IReadOnlyList<UserInfo>> ListUsersAsync() => SendAsync<IReadOnlyList<UserInfo>>(HttpMethod.Get, "users");

    public Task<AuthKeyInfo> CreateAuthKeyAsync(CreateAuthKeyRequest request) => SendAsync<AuthKeyInfo>(HttpMethod.Post, "authkeys", request);

    public Task<IReadOnlyList<AuthKeyInfo>> ListAuthKeysAsync() => SendAsync<IReadOnlyList<AuthKeyInfo>>(HttpMethod.Get, "authkeys");

    public Task<AuthKeyInfo> RevokeAuthKeyAsync(string key) => SendAsync<AuthKeyInfo>(HttpMethod.Delete, $"authkeys/{Uri.EscapeDataString(key)}");

    public Task<IReadOnlyList<NodeInfo>> ListNodesAsync() => SendAsync<IReadOnlyList<NodeInfo>>(HttpMethod.Get, "nodes");

    public Task<NodeInfo> RenameNodeAsync(string node, string name) => SendAsync<NodeInfo>(HttpMethod.Post, $"nodes/{Uri.EscapeDataString(node)}/rename", new RenameNodeRequest(name));

    public Task<NodeInfo> ExpireNodeAsync(string node) => SendAsync<NodeInfo>(HttpMethod.Post, $"nodes/{Uri.EscapeDataString(node)}/expire");

    public Task<NodeInfo> ApproveNodeAsync(string node) => SendAsync<NodeInfo>(HttpMethod.Post, $"nodes/{Uri.EscapeDataString(node)}/approve");

    public Task DeleteNodeAsync(string node) => SendAsync<object>(HttpMethod.Delete, $"nodes/{Uri.EscapeDataString(node)}");

    public Task<ApiKeyInfo> CreateApiKeyAsync(int? expirySeconds, string? name) => SendAsync<ApiKeyInfo>(HttpMethod.Post, "apikeys", new CreateApiKeyRequest(expirySeconds, name));

    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync() => await SendAsync<List<ApiKeyInfo>>(HttpMethod.Get, "apikeys");

    public Task<ApiKeyInfo> RevokeApiKeyAsync(string key) => SendAsync<ApiKeyInfo>(HttpMethod.Delete, $"apikeys/{Uri.EscapeDataString(key)}");

    public Task<PolicyInfo> GetPolicyAsync() => SendAsync<PolicyInfo>(HttpMethod.Get, "policy");

    public Task<PolicyInfo> SetPolicyAsync(string text) => SendAsync<PolicyInfo>(HttpMethod.Put, "policy", new SetPolicyRequest(text));

    public Task<ExplainInfo> ExplainAsync(string source, string destination, string protocol) =>
        SendAsync<ExplainInfo>(HttpMethod.Post, "policy/explain", new ExplainRequest(source, destination, protocol));

    public async Task<IReadOnlyList<RelayInfo>> ListRelaysAsync() => await SendAsync<List<RelayInfo>>(HttpMethod.Get, "relays");

    public async Task<IReadOnlyList<RelayInfo>> SetRelaysAsync(IReadOnlyList<RelayInfo> relays) => await SendAsync<List<RelayInfo>>(HttpMethod.Put, "relays", relays);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType(), options: CliJson.Options);
        }

        using var response = await _http.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            var error = await response.Content.ReadFromJsonAsync<ApiError>(CliJson.Options);
            throw new ControlException(error?.Code ?? "error", error?.Message ?? response.ReasonPhrase ?? "request failed");
        }

        if (response.StatusCode == System.Net.HttpStatusCode.NoContent)
        {
            return default!;
        }

        return (await response.Content.ReadFromJsonAsync<T>(CliJson.Options))!;
    }

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class CliJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };
}
