using Meshwire.Agent.LocalApi;

namespace Meshwire.Cli;

/// <summary>
/// The meshwire CLI: parses the verb, talks to meshwired through <see cref="LocalApiClient"/>, prints human text or
/// (--json) the LocalAPI's JSON. Exit codes: <see cref="Ok"/>, <see cref="Failed"/> (the operation did not work: no
/// ping reply, no such node, control refused), <see cref="Usage"/> (bad arguments), <see cref="NotRunning"/>,
/// <see cref="NoPermission"/> (the socket exists but this user may not open it).
/// </summary>
internal sealed partial class Cli(TextWriter stdout, TextWriter stderr)
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int NotRunning = 3;
    public const int NoPermission = 4;

    private const string GlobalUsage =
        "usage: meshwire [--socket PATH] <command> [options]\n" +
        "commands:\n" +
        "  up        join the tailnet (--login-server URL, --authkey-file PATH, --hostname NAME, --advertise-tags tag:a,tag:b, --timeout D);\n" +
        "            the auth key: --authkey-file PATH, $MESHWIRE_AUTHKEY, or --authkey KEY|file:PATH (argv is visible to all users)\n" +
        "  down      leave the tailnet, keep the login\n" +
        "  logout    leave the tailnet and forget the login\n" +
        "  status    this node and its peers\n" +
        "  ip        this node's tailnet addresses (-4, -6)\n" +
        "  ping      ping a peer through the tunnel: ping HOST|IP [-c N] [--timeout D]\n" +
        "  whois     who owns a tailnet address: whois IP[:PORT]\n" +
        "  netcheck  UDP, NAT and relay latencies as seen from here\n" +
        "  version   versions of meshwire and meshwired\n" +
        "every command takes --json; --socket defaults to " + LocalApiServer.DefaultSocketPath;

    /// <summary>Pause between pings of one ping command.</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often up asks the daemon's state while it waits for a login or approval.</summary>
    public TimeSpan UpPoll { get; init; } = TimeSpan.FromMilliseconds(500);

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        string? socket = null;
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--socket" && rest.Count == 0)
            {
                if (i + 1 >= args.Count)
                {
                    return UsageError("--socket needs a value");
                }

                socket = args[++i];
            }
            else if (args[i].StartsWith("--socket=", StringComparison.Ordinal) && rest.Count == 0)
            {
                socket = args[i]["--socket=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        if (rest.Count == 0 || rest[0] is "-h" or "--help" or "help")
        {
            (rest.Count == 0 ? stderr : stdout).WriteLine(GlobalUsage);
            return rest.Count == 0 ? Usage : Ok;
        }

        var verb = rest[0];
        var verbArgs = rest.Skip(1).ToList();
        if (verbArgs.Contains("-h") || verbArgs.Contains("--help"))
        {
            stdout.WriteLine(GlobalUsage);
            return Ok;
        }

        using var client = new LocalApiClient(socket ?? LocalApiServer.DefaultSocketPath);
        try
        {
            return verb switch
            {
                "up" => await UpAsync(client, verbArgs, login: false, cancellationToken),
                "login" => await UpAsync(client, verbArgs, login: true, cancellationToken),
                "down" => await DownAsync(client, verbArgs, cancellationToken),
                "logout" => await LogoutAsync(client, verbArgs, cancellationToken),
                "status" => await StatusAsync(client, verbArgs, cancellationToken),
                "ip" => await IpAsync(client, verbArgs, cancellationToken),
                "ping" => await PingAsync(client, verbArgs, cancellationToken),
                "whois" => await WhoIsAsync(client, verbArgs, cancellationToken),
                "netcheck" => await NetcheckAsync(client, verbArgs, cancellationToken),
                "version" => await VersionAsync(client, verbArgs, cancellationToken),
                _ => UsageError($"unknown command \"{verb}\""),
            };
        }
        catch (UsageException e)
        {
            return UsageError($"{verb}: {e.Message}");
        }
        catch (LocalApiUnavailableException e) when (IsPermissionDenied(e))
        {
            stderr.WriteLine($"meshwire {verb}: permission denied on {e.SocketPath}: only root may use meshwired's socket; run it as root (sudo meshwire {verb})");
            return NoPermission;
        }
        catch (LocalApiUnavailableException e)
        {
            stderr.WriteLine(e.Message);
            return NotRunning;
        }
        catch (LocalApiException e)
        {
            stderr.WriteLine($"meshwire {verb}: {e.Message}");
            return e.StatusCode == 400 ? Usage : Failed;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            stderr.WriteLine($"meshwire {verb}: interrupted");
            return Failed;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            stderr.WriteLine($"meshwire {verb}: talking to meshwired failed: {e.Message}");
            return Failed;
        }
    }

    /// <summary>
    /// EACCES or EPERM from connect (the socket or a directory above it is not this user's), as opposed to ENOENT
    /// or ECONNREFUSED (no daemon): the first needs sudo, the second a started daemon.
    /// </summary>
    private static bool IsPermissionDenied(Exception e)
    {
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            // .NET reports both EACCES and EPERM from connect as AccessDenied.
            if (inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AccessDenied } or UnauthorizedAccessException)
            {
                return true;
            }
        }

        return false;
    }

    private int UsageError(string message)
    {
        stderr.WriteLine($"meshwire: {message}\n{GlobalUsage}");
        return Usage;
    }

    private static readonly IReadOnlySet<string> JsonOnly = new HashSet<string> { "--json" };

    private static readonly IReadOnlySet<string> NoValues = new HashSet<string>();
}
