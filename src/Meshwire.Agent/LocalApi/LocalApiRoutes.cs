using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Meshwire.Agent.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Meshwire.Agent.LocalApi;

/// <summary>
/// The endpoints under /localapi/v0/ (docs/localapi.md). Each route states its methods and query keys; anything else
/// is refused before the handler runs (405 with Allow, 400 for an unknown query key), handlers refuse bad values with
/// 400, and every error body is {"error":"..."}. Handlers are plain RequestDelegates writing source-generated JSON,
/// so nothing here needs reflection (NativeAOT and trimming safe).
/// </summary>
internal static class LocalApiRoutes
{
    public const string Prefix = "/localapi/v0/";

    /// <summary>How long POST up waits for the state to settle before answering with the state as it is.</summary>
    public static readonly TimeSpan UpWait = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan DefaultPingTimeout = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan MaxPingTimeout = TimeSpan.FromSeconds(60);

    private const int MaxBody = 16 * 1024;

    public static string Version { get; } =
        typeof(LocalApiRoutes).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static void Map(IEndpointRouteBuilder app, ILocalBackend backend)
    {
        Route(app, "status", ["GET"], [], ctx => Status(ctx, backend));
        Route(app, "whois", ["GET"], ["addr"], ctx => WhoIs(ctx, backend));
        Route(app, "prefs", ["GET", "PATCH"], [], ctx => Prefs(ctx, backend));
        Route(app, "ping", ["POST"], ["ip", "host", "timeout"], ctx => Ping(ctx, backend));
        Route(app, "netcheck", ["GET"], [], ctx => Netcheck(ctx, backend));
        Route(app, "up", ["POST"], [], ctx => Up(ctx, backend));
        Route(app, "login", ["POST"], [], ctx => Up(ctx, backend));
        Route(app, "down", ["POST"], [], ctx => Down(ctx, backend));
        Route(app, "logout", ["POST"], [], ctx => Logout(ctx, backend));
        Route(app, "version", ["GET"], [], ctx => WriteAsync(ctx, 200, new VersionResponse(Version, Environment.Version.ToString()), LocalApiJsonContext.Default.VersionResponse));
        RequestDelegate notFound = ctx => ErrorAsync(ctx, 404, $"no endpoint {ctx.Request.Path}; see docs/localapi.md");
        app.Map("{**rest}", notFound);
    }

    private static void Route(IEndpointRouteBuilder app, string name, string[] methods, string[] queryKeys, Func<HttpContext, Task> handler)
    {
        RequestDelegate endpoint = async ctx =>
        {
            if (!methods.Contains(ctx.Request.Method))
            {
                ctx.Response.Headers.Allow = string.Join(", ", methods);
                await ErrorAsync(ctx, 405, $"{name} takes {string.Join(" or ", methods)}, not {ctx.Request.Method}");
                return;
            }

            foreach (var (key, values) in ctx.Request.Query)
            {
                if (!queryKeys.Contains(key))
                {
                    await ErrorAsync(ctx, 400, queryKeys.Length == 0 ? $"{name} takes no query parameters (got \"{key}\")" : $"unknown query parameter \"{key}\" (known: {string.Join(", ", queryKeys)})");
                    return;
                }

                if (values.Count != 1)
                {
                    await ErrorAsync(ctx, 400, $"query parameter \"{key}\" is given {values.Count} times");
                    return;
                }
            }

            try
            {
                await handler(ctx);
            }
            catch (BadRequestException e)
            {
                await ErrorAsync(ctx, 400, e.Message);
            }
            catch (AgentCommandException e)
            {
                await ErrorAsync(ctx, 400, e.Message);
            }
            catch (NotSupportedException e)
            {
                await ErrorAsync(ctx, 501, e.Message);
            }
            catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
            {
                // The client went away; nobody reads the answer.
            }
        };
        app.Map(Prefix + name, endpoint);
    }

    private static Task Status(HttpContext ctx, ILocalBackend backend) =>
        WriteAsync(ctx, 200, NetmapQueries.Status(backend.Snapshot(), backend.Paths, Version), LocalApiJsonContext.Default.StatusResponse);

    private static Task WhoIs(HttpContext ctx, ILocalBackend backend)
    {
        var text = ctx.Request.Query["addr"].ToString();
        if (text.Length == 0)
        {
            throw new BadRequestException("whois needs ?addr=IP or ?addr=IP:PORT");
        }

        if (!LocalApiInput.TryParseAddress(text, out var address, out _))
        {
            throw new BadRequestException($"\"{text}\" is not an IP or IP:PORT (port 1 to 65535; IPv6 with a port as [addr]:port)");
        }

        var snapshot = backend.Snapshot();
        return NetmapQueries.OwnerOf(snapshot.Netmap, address) is { } node
            ? WriteAsync(ctx, 200, NetmapQueries.WhoIs(node, snapshot.Netmap!), LocalApiJsonContext.Default.WhoIsResponse)
            : ErrorAsync(ctx, 404, $"no node in the tailnet has the address {address}");
    }

    private static async Task Prefs(HttpContext ctx, ILocalBackend backend)
    {
        if (ctx.Request.Method == "GET")
        {
            await WriteAsync(ctx, 200, PrefsOf(backend.Snapshot().Prefs), LocalApiJsonContext.Default.PrefsResponse);
            return;
        }

        var patch = await ReadBodyAsync(ctx, LocalApiJsonContext.Default.PrefsPatch, required: true)!;
        var edit = new PrefsEdit
        {
            LoginServer = patch!.LoginServer is null ? null : LoginServerOf(patch.LoginServer),
            Hostname = patch.Hostname is null ? null : Checked(patch.Hostname, LocalApiInput.CheckHostname),
            WantRunning = patch.WantRunning,
            AdvertiseTags = patch.AdvertiseTags is null ? null : Checked(patch.AdvertiseTags, LocalApiInput.CheckTags),
        };
        var prefs = await backend.EditPrefsAsync(edit, ctx.RequestAborted);
        await WriteAsync(ctx, 200, PrefsOf(prefs), LocalApiJsonContext.Default.PrefsResponse);
    }

    private static async Task Ping(HttpContext ctx, ILocalBackend backend)
    {
        await NoBodyAsync(ctx);
        var query = ctx.Request.Query;
        var timeout = DefaultPingTimeout;
        if (query.ContainsKey("timeout") && !LocalApiInput.TryParseDuration(query["timeout"], MaxPingTimeout, out timeout))
        {
            throw new BadRequestException($"timeout \"{query["timeout"]}\" must be a duration (\"5s\", \"500ms\") of at most {MaxPingTimeout.TotalSeconds:0}s");
        }

        var snapshot = backend.Snapshot();
        var map = snapshot.Netmap;
        System.Net.IPAddress target;
        Meshwire.Protocol.WireNode? peer;
        if (query.ContainsKey("ip") == query.ContainsKey("host"))
        {
            throw new BadRequestException("ping needs exactly one of ?ip=TAILNET-IP or ?host=NAME");
        }

        if (query.ContainsKey("ip"))
        {
            if (!LocalApiInput.TryParseIp(query["ip"], out target))
            {
                throw new BadRequestException($"\"{query["ip"]}\" is not an IP address");
            }

            peer = NetmapQueries.OwnerOf(map, target);
        }
        else
        {
            var host = query["host"].ToString();
            if (LocalApiInput.TryParseIp(host, out target))
            {
                peer = NetmapQueries.OwnerOf(map, target);
            }
            else
            {
                peer = NetmapQueries.PeerNamed(map, host);
                var first = peer is null ? null : NetmapQueries.AddressesOf(peer).FirstOrDefault();
                target = first is null ? System.Net.IPAddress.None : System.Net.IPAddress.Parse(first);
            }
        }

        if (peer is null)
        {
            await ErrorAsync(ctx, 404, $"no peer in the tailnet is {(query.ContainsKey("ip") ? query["ip"] : query["host"])}");
            return;
        }

        if (peer.NodeKey == snapshot.SelfKey)
        {
            throw new BadRequestException($"{target} is this node");
        }

        var result = await backend.Paths.PingAsync(peer.NodeKey, target, timeout, ctx.RequestAborted);
        await WriteAsync(ctx, 200, new PingResponse
        {
            Ip = target.ToString(),
            Peer = new PeerRef(peer.Id, peer.Name),
            Replied = result.Replied,
            RttMs = result.Replied ? result.RoundTrip.TotalMilliseconds : null,
            Path = NetmapQueries.PathOf(result.Path),
            Error = result.Error,
        }, LocalApiJsonContext.Default.PingResponse);
    }

    private static async Task Netcheck(HttpContext ctx, ILocalBackend backend)
    {
        var report = await backend.Paths.NetcheckAsync(ctx.RequestAborted);
        await WriteAsync(ctx, 200, new NetcheckResponse
        {
            Udp = report.Udp,
            MappedV4 = report.MappedV4?.ToString(),
            MappedV6 = report.MappedV6?.ToString(),
            EndpointIndependentMapping = report.EndpointIndependentMapping,
            PreferredRelayRegion = report.PreferredRelayRegion,
            RelayLatencyMs = report.RelayLatency.ToDictionary(r => r.Key, r => r.Value.TotalMilliseconds),
        }, LocalApiJsonContext.Default.NetcheckResponse);
    }

    private static async Task Up(HttpContext ctx, ILocalBackend backend)
    {
        var body = await ReadBodyAsync(ctx, LocalApiJsonContext.Default.UpBody, required: false) ?? new UpBody();
        var request = new UpRequest
        {
            LoginServer = body.LoginServer is null ? null : LoginServerOf(body.LoginServer),
            AuthKey = body.AuthKey is null ? null : Checked(body.AuthKey, LocalApiInput.CheckAuthKey),
            Hostname = body.Hostname is null ? null : Checked(body.Hostname, LocalApiInput.CheckHostname),
            AdvertiseTags = body.AdvertiseTags is null ? null : Checked(body.AdvertiseTags, LocalApiInput.CheckTags),
        };
        var snapshot = await backend.UpAsync(request, UpWait, ctx.RequestAborted);
        await WriteAsync(ctx, 200, NetmapQueries.Status(snapshot, backend.Paths, Version), LocalApiJsonContext.Default.StatusResponse);
    }

    private static async Task Down(HttpContext ctx, ILocalBackend backend)
    {
        await NoBodyAsync(ctx);
        await backend.DownAsync(ctx.RequestAborted);
        await WriteAsync(ctx, 200, NetmapQueries.Status(backend.Snapshot(), backend.Paths, Version), LocalApiJsonContext.Default.StatusResponse);
    }

    private static async Task Logout(HttpContext ctx, ILocalBackend backend)
    {
        await NoBodyAsync(ctx);
        var warning = await backend.LogoutAsync(ctx.RequestAborted);
        await WriteAsync(ctx, 200, new LogoutResponse { ControlNotified = warning is null, Warning = warning }, LocalApiJsonContext.Default.LogoutResponse);
    }

    private static PrefsResponse PrefsOf(NodePrefs prefs) => new()
    {
        LoginServer = prefs.LoginServer,
        Hostname = prefs.Hostname,
        WantRunning = prefs.WantRunning,
        AdvertiseTags = prefs.AdvertiseTags ?? [],
        Registered = prefs.Registered,
    };

    private static Uri LoginServerOf(string text) =>
        LocalApiInput.TryParseLoginServer(text, out var server) ? server : throw new BadRequestException($"login server \"{text}\" must be an absolute http(s) URL");

    private static T Checked<T>(T value, Func<T, string?> check) => check(value) is { } error ? throw new BadRequestException(error) : value;

    /// <summary>Endpoints without a body accept none, or an empty JSON object.</summary>
    private static async Task NoBodyAsync(HttpContext ctx)
    {
        var text = (await ReadTextAsync(ctx)).Trim();
        if (text.Length > 0 && text != "{}")
        {
            throw new BadRequestException("this endpoint takes no body");
        }
    }

    private static async Task<T?> ReadBodyAsync<T>(HttpContext ctx, JsonTypeInfo<T> type, bool required)
        where T : class
    {
        var text = await ReadTextAsync(ctx);
        if (text.Trim().Length == 0)
        {
            return required ? throw new BadRequestException("a JSON body is required") : null;
        }

        try
        {
            return JsonSerializer.Deserialize(text, type) ?? throw new BadRequestException("the body must be a JSON object, not null");
        }
        catch (JsonException e)
        {
            throw new BadRequestException($"bad JSON body: {e.Message}");
        }
    }

    private static async Task<string> ReadTextAsync(HttpContext ctx)
    {
        if (ctx.Request.ContentLength > MaxBody)
        {
            throw new BadRequestException($"the body is larger than {MaxBody} bytes");
        }

        using var reader = new StreamReader(ctx.Request.Body);
        var buffer = new char[MaxBody + 1];
        var read = await reader.ReadBlockAsync(buffer, ctx.RequestAborted);
        return read > MaxBody ? throw new BadRequestException($"the body is larger than {MaxBody} bytes") : new string(buffer, 0, read);
    }

    private static Task ErrorAsync(HttpContext ctx, int status, string error) =>
        WriteAsync(ctx, status, new ErrorResponse(error), LocalApiJsonContext.Default.ErrorResponse);

    private static async Task WriteAsync<T>(HttpContext ctx, int status, T value, JsonTypeInfo<T> type)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(ctx.Response.Body, value, type, ctx.RequestAborted);
        await ctx.Response.Body.WriteAsync("\n"u8.ToArray(), ctx.RequestAborted);
    }

    private sealed class BadRequestException(string message) : Exception(message);
}
