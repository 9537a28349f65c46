using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Meshwire.Core;
using Meshwire.Relay;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Meshwire.Relay.Stun;
using Meshwire.Shared;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Meshwire.RelayHost;

/// <summary>
/// The meshwire-relay process: Kestrel serving GET /relay (upgrade to the frame protocol), /metrics and
/// /healthz, the STUN server on UDP, and the mesh links. Tests start it in-process on loopback port 0.
/// </summary>
public sealed partial class RelayHostApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly StunServer? _stun;
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient? _verifyHttp;
    private Task _stunLoop = Task.CompletedTask;

    private RelayHostApp(WebApplication app, RelayServer server, StunServer? stun, HttpClient? verifyHttp, IReadOnlyList<Uri> meshWith)
    {
        _app = app;
        Server = server;
        _stun = stun;
        _verifyHttp = verifyHttp;
        MeshWith = meshWith;
    }

    public RelayServer Server { get; }

    public IReadOnlyList<Uri> MeshWith { get; }

    /// <summary>The URL clients use, with the real port when listening on port 0.</summary>
    public Uri Url { get; private set; } = new("http://127.0.0.1/");

    public IPEndPoint? StunEndPoint => _stun?.LocalEndPoint;

    public static RelayHostApp Create(RelayHostOptions options, Action<ILoggingBuilder>? logging = null, TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        logging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(options.Listen, listen =>
            {
                if (options.CertificatePem is { } cert)
                {
                    listen.UseHttps(X509Certificate2.CreateFromPemFile(cert, options.KeyPem));
                }
            });
        });

        var app = builder.Build();
        var loggerFactory = app.Services.GetRequiredService<ILoggerFactory>();
        var verifyHttp = options.VerifyClients is null ? null : new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var server = new RelayServer(new RelayServerOptions
        {
            PrivateKey = LoadOrCreateKey(options.StateDirectory, loggerFactory.CreateLogger<RelayHostApp>()),
            TimeProvider = timeProvider ?? TimeProvider.System,
            Verifier = verifyHttp is null ? null : new HttpRelayClientVerifier(verifyHttp, options.VerifyClients!, timeProvider),
            MeshKey = options.MeshKey,
            SendQueueCapacity = options.SendQueueCapacity,
            RateLimitBytesPerSecond = options.RateLimitBytesPerSecond,
            RateLimitBurstBytes = options.RateLimitBurstBytes,
            LoggerFactory = loggerFactory,
        });
        var stun = options.StunPort is { } port ? new StunServer(new IPEndPoint(options.Listen.Address, port), loggerFactory.CreateLogger<StunServer>()) : null;
        var host = new RelayHostApp(app, server, stun, verifyHttp, options.MeshWith);
        app.Lifetime.ApplicationStopping.Register(static state => ((CancellationTokenSource)state!).Cancel(), host._stop);

        app.MapGet(RelayProtocol.Path, host.AcceptAsync);
        app.MapGet("/relay/probe", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Ok();
        });
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/metrics", host.MetricsText);
        return host;
    }

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "[::1]", StringComparison.Ordinal));
        if (_stun is not null)
        {
            _stunLoop = _stun.RunAsync(_stop.Token);
        }

        if (MeshWith.Count > 0)
        {
            Server.StartMesh(MeshWith);
        }
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    private async Task AcceptAsync(HttpContext context)
    {
        var upgrade = context.Features.Get<IHttpUpgradeFeature>();
        if (upgrade is not { IsUpgradableRequest: true } ||
            !string.Equals(context.Request.Headers.Upgrade, RelayProtocol.UpgradeToken, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = RelayProtocol.UpgradeToken;
            await context.Response.WriteAsync("meshwire-relay: connect with Upgrade: meshwire-relay\n").ConfigureAwait(false);
            return;
        }

        context.Response.Headers.Upgrade = RelayProtocol.UpgradeToken;
        await using var stream = await upgrade.UpgradeAsync().ConfigureAwait(false);
        // Upgraded connections never finish on their own: they end when the host starts stopping (SIGTERM), so
        // Kestrel's graceful shutdown does not wait its whole timeout for them.
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stop.Token);
        await Server.HandleConnectionAsync(stream, context.Connection.RemoteIpAddress, connection.Token).ConfigureAwait(false);
    }

    private IResult MetricsText()
    {
        var text = new StringBuilder(2048);
        Server.Metrics.WritePrometheus(text);
        RelayMetrics.Gauge(text, "meshwire_relay_mesh_routes", "Node keys reachable through meshed relays.", Server.MeshRouteCount);
        if (_stun is not null)
        {
            RelayMetrics.Counter(text, "meshwire_relay_stun_requests_total", "STUN Binding requests answered.", _stun.Requests);
            RelayMetrics.Counter(text, "meshwire_relay_stun_ignored_total", "UDP datagrams on the STUN port that were not Binding requests.", _stun.Ignored);
        }

        return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }

    /// <summary>
    /// The relay's key from STATE/relay.key, made on first start. The directory is created 0700 (an existing one
    /// open to others keeps its mode, with a warning); the key is written 0600 under a temporary name and renamed,
    /// and an existing key open to others is narrowed to 0600 with a warning.
    /// </summary>
    private static RelayPrivateKey LoadOrCreateKey(string? stateDirectory, ILogger logger)
    {
        if (stateDirectory is null)
        {
            return RelayKeys.GenerateServerKey();
        }

        if (SecretFile.PrepareDirectory(stateDirectory) is { } looseDirectory)
        {
            Log.LooseMode(logger, looseDirectory);
        }

        var path = Path.Combine(stateDirectory, "relay.key");
        if (File.Exists(path))
        {
            if (SecretFile.Tighten(path) is { } narrowed)
            {
                Log.LooseMode(logger, narrowed);
            }

            return Key32.TryParseHex(File.ReadAllText(path).Trim(), out var raw)
                ? new RelayPrivateKey(raw)
                : throw new InvalidOperationException($"{path} is not a relay key (64 hex digits). Move it away to make a new one.");
        }

        var key = RelayKeys.GenerateServerKey();
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            create.UnixCreateMode = SecretFile.OwnerOnlyFile;
        }

        using (var stream = new FileStream(temporary, create))
        {
            stream.Write(Encoding.ASCII.GetBytes(key.Value.ToHex() + "\n"));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        return key;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "{Problem}")]
        public static partial void LooseMode(ILogger logger, string problem);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _stun?.Dispose();
        try
        {
            await _stunLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _verifyHttp?.Dispose();
        _stop.Dispose();
    }
}
