using System.Runtime.InteropServices;
using Meshwire.Agent;
using Meshwire.Agent.Interface;
using Meshwire.Agent.Paths;
using Meshwire.Agent.LocalApi;
using Meshwire.Agent.State;
using Meshwire.Net.Engine;
using Meshwire.Shared;
using Microsoft.Extensions.Logging;

namespace Meshwire.Daemon;

/// <summary>
/// meshwired: the node agent. Opens the state directory, starts the WireGuard interface and the LocalAPI socket,
/// and runs the Agent until SIGTERM or SIGINT. Without --login-server it waits for `meshwire up` (or resumes what
/// its prefs want); with it, it does an unattended up at every start. Exit codes: 0 stopped cleanly, 1 failed, 2 usage.
/// </summary>
internal static class Program
{
    private const string AuthKeyVariable = "MESHWIRE_AUTHKEY";

    private const string Usage =
        "usage: meshwired [--state DIR] [--tun NAME] [--port N] [--socket PATH] [--login-server URL [--authkey-file PATH] [--hostname NAME]]\n" +
        "  --state DIR         keys, prefs and cached netmap (default /var/lib/meshwire)\n" +
        "  --socket PATH       the LocalAPI socket for the meshwire CLI (default /var/run/meshwire/meshwired.sock)\n" +
        "  --login-server URL  join this coordination server at every start (an unattended `meshwire up`, for servers)\n" +
        "  --authkey-file PATH pre-auth key for that first registration, read from PATH (a 0600 file, or a systemd\n" +
        "                      credential: ${CREDENTIALS_DIRECTORY}/authkey); or $MESHWIRE_AUTHKEY\n" +
        "  --authkey KEY       the same on the command line (or file:PATH); visible to every local user, so it warns\n" +
        "  --hostname NAME     name to register (default: this machine's host name)\n" +
        "  --tun NAME          interface name (default meshwire0)\n" +
        "  --port N            WireGuard UDP port (default 41641; 0 picks one)";

    public static async Task<int> Main(string[] args)
    {
        // Files and sockets this daemon creates are its own: no window in which the LocalAPI socket or a key file
        // exists with a group- or world-readable mode before its explicit chmod.
        SecretFile.RestrictUmask();
        string state = NodeStateStore.DefaultDirectory;
        string? server = null;
        string? socket = null;
        string? authKeyArg = null;
        string? authKeyFile = null;
        string? hostname = null;
        var tun = "meshwire0";
        ushort port = 41641;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            try
            {
                switch (args[i])
                {
                    case "--state": state = Value(); break;
                    case "--login-server": server = Value(); break;
                    case "--authkey": authKeyArg = Value(); break;
                    case "--authkey-file": authKeyFile = Value(); break;
                    case "--hostname": hostname = Value(); break;
                    case "--tun": tun = Value(); break;
                    case "--socket": socket = Value(); break;
                    case "--port": port = ushort.Parse(Value()); break;
                    case "-h" or "--help": Console.WriteLine(Usage); return 0;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
            {
                Console.Error.WriteLine($"meshwired: {e.Message}\n{Usage}");
                return 2;
            }
        }

        SecretFile.Secret authKey;
        try
        {
            authKey = SecretFile.Resolve("--authkey", authKeyArg, authKeyFile, AuthKeyVariable, filePrefix: true);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"meshwired: {e.Message}");
            return 2;
        }

        // Child processes (ip) need no key; the daemon's own environment is readable only by root.
        Environment.SetEnvironmentVariable(AuthKeyVariable, null);
        if (authKey.Warning is { } argvWarning)
        {
            Console.Error.WriteLine($"meshwired: warning: {argvWarning}");
        }

        Uri? loginServer = null;
        if (server is not null && !LocalApiInput.TryParseLoginServer(server, out loginServer))
        {
            Console.Error.WriteLine($"meshwired: --login-server must be an absolute http(s) URL, not {server}\n{Usage}");
            return 2;
        }

        if (hostname is not null && LocalApiInput.CheckHostname(hostname) is { } badName)
        {
            Console.Error.WriteLine($"meshwired: {badName}\n{Usage}");
            return 2;
        }

        var level = Environment.GetEnvironmentVariable("LOG_LEVEL") switch
        {
            "verbose" or "debug" => LogLevel.Debug,
            "silent" => LogLevel.None,
            _ => LogLevel.Information,
        };
        using var loggerFactory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(level);
            b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        });
        var logger = loggerFactory.CreateLogger("meshwired");

        NodeStateStore store;
        WireGuardEngine engine;
        try
        {
            store = NodeStateStore.Open(state);
            foreach (var warning in store.Warnings)
            {
                Console.Error.WriteLine($"meshwired: warning: {warning}");
            }

            engine = WireGuardEngine.Start(tun, logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or InvalidDataException)
        {
            Console.Error.WriteLine($"meshwired: {e.Message} (meshwired needs root, or CAP_NET_ADMIN and a writable --state)");
            return 1;
        }

        using (engine)
        {
            using var stop = new CancellationTokenSource();
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
            _ = engine.Stopped.ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);

            var options = new AgentOptions
            {
                LoginServer = loginServer,
                AuthKey = loginServer is null ? null : authKey.Value,
                Hostname = hostname,
                ListenPort = port,
                Endpoints = p => LocalEndpoints.Discover(p, tun),
            };
            var agent = new Meshwire.Agent.Agent(store, engine, new IpRouteConfigurator(tun), options, logger);
            using var trim = new StartupTrim(agent, TimeProvider.System, logger);
            engine.Gate = agent.Filter;
            await using var router = new PathRouter(engine, store.Keys.NodeKey, store.Keys.DiscoKey, logger);
            engine.Router = router;
            agent.Router = router;
            using var links = new LinkMonitor(tun);
            links.Changed += agent.OnLinkChanged;
            try
            {
                await using var localApi = await StartLocalApiAsync(socket, agent, logger, stop.Token);
                await agent.RunAsync(stop.Token);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"meshwired: {e.Message}");
                return 1;
            }

            logger.LogInformation("meshwired stopped");
            return 0;
        }
    }

    /// <summary>
    /// The LocalAPI on --socket (a failure is fatal), or on the default path; a second daemon on one machine (labs
    /// with several namespaces) finds the default taken and runs without a LocalAPI rather than not at all.
    /// </summary>
    private static async Task<LocalApiServer?> StartLocalApiAsync(string? socket, ILocalBackend backend, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            var server = await LocalApiServer.StartAsync(socket ?? LocalApiServer.DefaultSocketPath, backend, cancellationToken);
            logger.LogInformation("LocalAPI listening on {Socket}", server.SocketPath);
            return server;
        }
        catch (InvalidOperationException e) when (socket is null)
        {
            logger.LogError("LocalAPI disabled: {Reason}; give this daemon its own --socket PATH", e.Message);
            return null;
        }
    }
}
