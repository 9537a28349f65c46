using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent.LocalApi;

/// <summary>
/// Serves the LocalAPI (HTTP/1.1) on a unix socket with Kestrel. Start: the socket's directory is created (0755), a
/// stale socket left by a crashed daemon is removed (a live one is refused), Kestrel binds, and the socket becomes
/// 0600 so only root (the daemon's user) can connect; a user with access to the socket controls the node.
/// The socket's mode is the access control; the directory is 0755 like the runtime directory systemd makes for the
/// unit (RuntimeDirectoryMode=0755), so a daemon started by hand and one started by systemd look alike and an
/// unprivileged `meshwire` finds the socket and is told "permission denied", not "not running".
/// Dispose stops Kestrel and removes the socket.
/// </summary>
public sealed class LocalApiServer : IAsyncDisposable
{
    public const string DefaultSocketPath = "/var/run/meshwire/meshwired.sock";

    private const UnixFileMode SocketMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private readonly WebApplication _app;

    private LocalApiServer(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<LocalApiServer> StartAsync(string socketPath, ILocalBackend backend, CancellationToken cancellationToken = default)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the LocalAPI needs unix sockets and file modes");
        }

        socketPath = Path.GetFullPath(socketPath);
        PrepareSocketPath(socketPath);

        // The empty builder: no configuration sources (the daemon's own flags configure it), no appsettings.json
        // file watcher, no logging providers, no HTTPS; Kestrel's core and routing are all the LocalAPI needs.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "meshwired", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.Services.AddRoutingCore();
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.AddServerHeader = false;
            options.Limits.MaxRequestBodySize = 64 * 1024;
            options.ListenUnixSocket(socketPath);
        });

        var app = builder.Build();
        LocalApiRoutes.Map(app, backend);
        try
        {
            await app.StartAsync(cancellationToken);
            File.SetUnixFileMode(socketPath, SocketMode);
        }
        catch (IOException e)
        {
            // Kestrel's bind failure (another daemon won a race for the path, or no permission).
            await app.DisposeAsync();
            throw new InvalidOperationException($"cannot listen on {socketPath}: {e.Message}", e);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new LocalApiServer(app, socketPath);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            File.Delete(SocketPath);
        }
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void PrepareSocketPath(string socketPath)
    {
        var directory = Path.GetDirectoryName(socketPath) ?? throw new ArgumentException($"{socketPath} has no directory", nameof(socketPath));
        if (!Directory.Exists(directory))
        {
            // The daemon runs under umask 077, which would narrow the create mode to 0700: set the mode explicitly.
            Directory.CreateDirectory(directory, DirectoryMode);
            File.SetUnixFileMode(directory, DirectoryMode);
        }

        if (!Path.Exists(socketPath))
        {
            return;
        }

        if (new FileInfo(socketPath) is { Exists: true, Length: > 0 })
        {
            // Sockets have no length: this is somebody's file, not a stale socket.
            throw new InvalidOperationException($"{socketPath} is a file, not a socket; give --socket another path");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException)
        {
            // Nobody listens: a socket left by a daemon that died.
            File.Delete(socketPath);
            return;
        }

        throw new InvalidOperationException($"another meshwired is already listening on {socketPath}");
    }
}
