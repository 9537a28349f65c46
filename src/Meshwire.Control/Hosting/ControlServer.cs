using System.Net;
using System.Text.Json;
using Meshwire.Control.Api;
using Meshwire.Control.Channel;
using Meshwire.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Meshwire.Control.Hosting;

/// <summary>
/// A running coordination server: Kestrel with the control channel (/control/v1), the admin API (/api/v1, its
/// OpenAPI document at /openapi/v1.json), login (/login, when OIDC is configured) and /healthz; plus the
/// background expiry sweep. Start with <see cref="StartAsync"/>, stop with DisposeAsync.
/// </summary>
public sealed class ControlServer : IAsyncDisposable
{
    /// <summary>Key in a connection's Items set on connections that came through the admin socket.</summary>
    internal const string AdminSocketMark = "meshwire.admin-socket";

    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stop = new();
    private Task? _sweep;
    private int _disposed;

    private ControlServer(WebApplication app, ControlService service)
    {
        _app = app;
        Service = service;
    }

    public ControlService Service { get; }

    /// <summary>The addresses Kestrel listens on (port 0 resolved).</summary>
    public IReadOnlyList<Uri> Addresses =>
        [.. _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Where(a => a.StartsWith("http", StringComparison.Ordinal)).Select(a => new Uri(a))];

    public Uri BaseAddress => Addresses[0];

    public MachinePublicKeyInfo ServerKey { get; private set; } = null!;

    public static async Task<ControlServer> StartAsync(ControlOptions options, Action<ILoggingBuilder>? logging = null, CancellationToken cancellationToken = default)
    {
        var service = await ControlService.OpenAsync(options, cancellationToken);
        var identity = ServerIdentity.LoadOrCreate(options.StateDirectory);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (logging is not null)
        {
            logging(builder.Logging);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBytes;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            ListenUrls.Apply(kestrel, options.Urls);
            if (options.AdminSocket)
            {
                var socket = Path.Combine(options.StateDirectory, "control.sock");
                File.Delete(socket);
                kestrel.ListenUnixSocket(socket, listen => listen.Use(next => connection =>
                {
                    // Connections on the admin socket are trusted by its file mode; the API's filter looks for this mark.
                    connection.Items[AdminSocketMark] = true;
                    return next(connection);
                }));
            }
        });
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton(identity);
        builder.Services.AddSingleton<ChannelHandler>();
        builder.Services.AddOpenApi();
        builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase);
        if (options.Oidc is not null)
        {
            OidcLogin.AddServices(builder.Services, options, service);
        }

        var app = builder.Build();
        service.StartReplicaSync(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Meshwire.Control.Replicas"));
        app.UseLastResort(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Meshwire.Control.Http"));
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            catch (BadHttpRequestException e) when (!context.Response.HasStarted)
            {
                var code = e.StatusCode == StatusCodes.Status413PayloadTooLarge ? ErrorCodes.TooLarge : ErrorCodes.BadRequest;
                context.Response.StatusCode = e.StatusCode;
                await context.Response.WriteAsJsonAsync(new ApiError(code, e.Message));
            }
        });
        // Framework refusals (binding failures, 404s) carry no body: give them the same ApiError shape.
        app.UseStatusCodePages(async status =>
        {
            var code = status.HttpContext.Response.StatusCode;
            await status.HttpContext.Response.WriteAsJsonAsync(new ApiError(
                code switch { 401 => ErrorCodes.Unauthorized, 404 => ErrorCodes.NotFound, 413 => ErrorCodes.TooLarge, _ => ErrorCodes.BadRequest },
                code switch
                {
                    400 => "the request body is not valid JSON for this endpoint",
                    415 => "send the body as JSON (Content-Type: application/json)",
                    _ => $"HTTP {code}",
                }));
        });
        app.UseAdminAuthentication(service);
        app.UseWebSockets();
        app.MapOpenApi();
        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet(ChannelConstants.KeyPath, () => Results.Text(
            JsonSerializer.Serialize(new ServerKeyInfo(identity.PublicKey, ProtocolJson.Version), ProtocolJsonContext.Default.ServerKeyInfo), "application/json"));
        app.Map(ChannelConstants.ChannelPath, (HttpContext context, ChannelHandler handler) => handler.HandleAsync(context));
        AdminApi.Map(app, service);
        if (options.Oidc is not null)
        {
            OidcLogin.Map(app, service);
        }

        await app.StartAsync(cancellationToken);
        if (options.AdminSocket && !OperatingSystem.IsWindows())
        {
            // Whoever can open the socket administers the tailnet: owner only.
            File.SetUnixFileMode(Path.Combine(options.StateDirectory, "control.sock"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var server = new ControlServer(app, service) { ServerKey = new MachinePublicKeyInfo(identity.PublicKey) };
        // Login URLs need an address browsers reach; without --server-url, the first listen address.
        options.ServerUrl ??= server.BaseAddress.ToString().TrimEnd('/');
        server._sweep = server.SweepAsync(options);
        return server;
    }

    private async Task SweepAsync(ControlOptions options)
    {
        // Ticks on the real clock; expiry itself is judged on options.Time (a fake clock in tests).
        using var timer = new PeriodicTimer(options.ExpirySweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await Service.SweepExpiredAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => await _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        if (_sweep is not null)
        {
            await _sweep;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        await Service.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>The server's machine key, as clients pin it.</summary>
public sealed record MachinePublicKeyInfo(Meshwire.Core.MachinePublicKey Key);
