using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Meshwire.Agent.LocalApi;

/// <summary>meshwired is not listening on the socket (not started, or another --socket).</summary>
public sealed class LocalApiUnavailableException(string socketPath, Exception? inner = null)
    : Exception($"meshwired is not running (no socket at {socketPath}); start it with: sudo systemctl start meshwired (or: sudo meshwired --socket {socketPath})", inner)
{
    public string SocketPath { get; } = socketPath;
}

/// <summary>The daemon answered with an error: <see cref="StatusCode"/> and its {"error":...} text.</summary>
public sealed class LocalApiException(int statusCode, string error) : Exception(error)
{
    public int StatusCode { get; } = statusCode;
}

/// <summary>
/// The typed client of the LocalAPI over its unix socket (what the meshwire CLI uses); one method per endpoint.
/// Every method throws <see cref="LocalApiUnavailableException"/> when nothing listens on the socket and
/// <see cref="LocalApiException"/> for an error answer (whois answers null instead of a 404).
/// </summary>
public sealed class LocalApiClient : IDisposable
{
    private static readonly Uri Base = new("http://meshwired" + LocalApiRoutes.Prefix);

    private readonly HttpClient _http;

    public LocalApiClient(string? socketPath = null, TimeSpan? timeout = null)
    {
        SocketPath = socketPath ?? LocalApiServer.DefaultSocketPath;
        var path = SocketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = Base, Timeout = timeout ?? TimeSpan.FromSeconds(90) };
    }

    public string SocketPath { get; }

    public Task<StatusResponse> StatusAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "status", null, LocalApiJsonContext.Default.StatusResponse, cancellationToken)!;

    /// <summary>Who owns <paramref name="address"/> ("100.64.0.2" or "100.64.0.2:443"); null when no node does.</summary>
    public async Task<WhoIsResponse?> WhoIsAsync(string address, CancellationToken cancellationToken = default)
    {
        try
        {
            return await SendAsync(HttpMethod.Get, "whois?addr=" + Uri.EscapeDataString(address), null, LocalApiJsonContext.Default.WhoIsResponse, cancellationToken);
        }
        catch (LocalApiException e) when (e.StatusCode == 404)
        {
            return null;
        }
    }

    public Task<PrefsResponse> GetPrefsAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "prefs", null, LocalApiJsonContext.Default.PrefsResponse, cancellationToken)!;

    public Task<PrefsResponse> PatchPrefsAsync(PrefsPatch patch, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Patch, "prefs", Json(patch, LocalApiJsonContext.Default.PrefsPatch), LocalApiJsonContext.Default.PrefsResponse, cancellationToken)!;

    /// <summary>Pings a peer through the tunnel: <paramref name="target"/> is a tailnet IP (sent as ?ip=) or a peer name (?host=).</summary>
    public Task<PingResponse> PingAsync(string target, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var query = (LocalApiInput.TryParseIp(target, out _) ? "ip=" : "host=") + Uri.EscapeDataString(target);
        if (timeout is { } t)
        {
            query += "&timeout=" + Math.Max(1, (long)Math.Ceiling(t.TotalMilliseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) + "ms";
        }

        return SendAsync(HttpMethod.Post, "ping?" + query, null, LocalApiJsonContext.Default.PingResponse, cancellationToken)!;
    }

    public Task<NetcheckResponse> NetcheckAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "netcheck", null, LocalApiJsonContext.Default.NetcheckResponse, cancellationToken)!;

    /// <summary>Stores the prefs of <paramref name="body"/>, starts joining, and returns the status once it settled (or after the daemon's wait).</summary>
    public Task<StatusResponse> UpAsync(UpBody body, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "up", Json(body, LocalApiJsonContext.Default.UpBody), LocalApiJsonContext.Default.StatusResponse, cancellationToken)!;

    /// <summary>The same as <see cref="UpAsync"/> (POST login).</summary>
    public Task<StatusResponse> LoginAsync(UpBody body, CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "login", Json(body, LocalApiJsonContext.Default.UpBody), LocalApiJsonContext.Default.StatusResponse, cancellationToken)!;

    public Task<StatusResponse> DownAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "down", null, LocalApiJsonContext.Default.StatusResponse, cancellationToken)!;

    public Task<LogoutResponse> LogoutAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Post, "logout", null, LocalApiJsonContext.Default.LogoutResponse, cancellationToken)!;

    public Task<VersionResponse> VersionAsync(CancellationToken cancellationToken = default) =>
        SendAsync(HttpMethod.Get, "version", null, LocalApiJsonContext.Default.VersionResponse, cancellationToken)!;

    public void Dispose() => _http.Dispose();

    private static StringContent Json<T>(T value, JsonTypeInfo<T> type) =>
        new(JsonSerializer.Serialize(value, type), Encoding.UTF8, "application/json");

    private async Task<T?> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException or IOException || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            throw new LocalApiUnavailableException(SocketPath, e);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new LocalApiException((int)response.StatusCode, ErrorText(body, response.StatusCode));
            }

            try
            {
                return JsonSerializer.Deserialize(body, type) ?? throw new LocalApiException((int)response.StatusCode, "the daemon answered null");
            }
            catch (JsonException e)
            {
                throw new LocalApiException((int)response.StatusCode, $"the daemon's answer is not what this meshwire expects ({e.Message}); are meshwire and meshwired the same version?");
            }
        }
    }

    private static string ErrorText(byte[] body, HttpStatusCode status)
    {
        try
        {
            if (JsonSerializer.Deserialize(body, LocalApiJsonContext.Default.ErrorResponse) is { Error: { } error })
            {
                return error;
            }
        }
        catch (JsonException)
        {
        }

        return $"the daemon answered {(int)status} {status}";
    }
}
