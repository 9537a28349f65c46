using System.Globalization;
using System.Reflection;
using Meshwire.Agent.LocalApi;

namespace Meshwire.Cli;

// status, ip, whois, version.
internal sealed partial class Cli
{
    private static readonly IReadOnlySet<string> IpFlags = new HashSet<string> { "--json", "-4", "-6" };

    private static string ClientVersion =>
        typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    private async Task<int> StatusAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        var status = await client.StatusAsync(cancellationToken);
        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, status, CliJson.Api.StatusResponse);
            return Ok;
        }

        switch (status.BackendState)
        {
            case "NeedsLogin" when status.AuthUrl is { } url:
                stdout.WriteLine($"Logged out. Log in at: {url}");
                return Ok;
            case "NeedsLogin":
                stdout.WriteLine("Logged out. Run: meshwire up --login-server URL [--authkey KEY]" + (status.LastError is { } e ? $"\n(last error: {e})" : ""));
                return Ok;
            case "NeedsMachineAuth":
                stdout.WriteLine("Logged in; waiting for an admin to approve this node.");
                return Ok;
            case "Stopped":
                stdout.WriteLine("meshwire is stopped. Run: meshwire up");
                return Ok;
            case "NoState" or "Starting" when status.Self.Addresses.Count == 0:
                stdout.WriteLine("Starting..." + (status.LastError is { } error ? $" (control: {error})" : ""));
                return Ok;
        }

        var rows = new List<string[]>
        {
            Row(status.Self.Addresses, status.Self.Name ?? status.Self.Hostname ?? "-", status.Self.User, "-", status.ControlConnected ? "this node" : "this node; control unreachable, using the last map"),
        };
        foreach (var peer in status.Peers)
        {
            rows.Add(Row(peer.Addresses, peer.Name, peer.User, PathText(peer.Path), PeerDetails(peer)));
        }

        WriteTable(rows);
        if (status.LastError is { } lastError && !status.ControlConnected)
        {
            stdout.WriteLine($"# control: {lastError}");
        }

        return Ok;
    }

    private async Task<int> IpAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, IpFlags);
        parsed.ExpectPositionals(0, 0, "");
        if (parsed.Has("-4") && parsed.Has("-6"))
        {
            throw new UsageException("give -4 or -6, not both");
        }

        var status = await client.StatusAsync(cancellationToken);
        var addresses = status.Self.Addresses
            .Where(a => !parsed.Has("-4") || !a.Contains(':'))
            .Where(a => !parsed.Has("-6") || a.Contains(':'))
            .ToList();
        if (addresses.Count == 0)
        {
            stderr.WriteLine($"meshwire ip: no tailnet address yet (state {status.BackendState})");
            return Failed;
        }

        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, new IpResponse(addresses), CliJson.Cli.IpResponse);
        }
        else
        {
            foreach (var address in addresses)
            {
                stdout.WriteLine(address);
            }
        }

        return Ok;
    }

    private async Task<int> WhoIsAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(1, 1, "IP[:PORT]");
        var address = parsed.Positionals[0];
        if (!LocalApiInput.TryParseAddress(address, out _, out _))
        {
            throw new UsageException($"\"{address}\" is not an IP or IP:PORT");
        }

        var who = await client.WhoIsAsync(address, cancellationToken);
        if (who is null)
        {
            stderr.WriteLine($"meshwire whois: no node in the tailnet has the address {address}");
            return Failed;
        }

        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, who, CliJson.Api.WhoIsResponse);
            return Ok;
        }

        stdout.WriteLine("Machine:");
        stdout.WriteLine($"  Name:      {who.Node.Name.TrimEnd('.')}");
        stdout.WriteLine($"  ID:        {who.Node.StableID}");
        stdout.WriteLine($"  Addresses: {string.Join(", ", who.Node.Addresses)}");
        if (who.Node.Tags.Count > 0)
        {
            stdout.WriteLine($"  Tags:      {string.Join(", ", who.Node.Tags)}");
        }

        stdout.WriteLine("User:");
        stdout.WriteLine($"  Name:      {who.UserProfile.LoginName}");
        return Ok;
    }

    private async Task<int> VersionAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        VersionResponse? daemon = null;
        try
        {
            daemon = await client.VersionAsync(cancellationToken);
        }
        catch (LocalApiUnavailableException)
        {
            // The client's version is still worth printing.
        }

        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, new VersionsResponse(ClientVersion, daemon), CliJson.Cli.VersionsResponse);
        }
        else
        {
            stdout.WriteLine($"meshwire  {ClientVersion}");
            stdout.WriteLine(daemon is null ? $"meshwired not running (no socket at {client.SocketPath})" : $"meshwired {daemon.Version} (.NET {daemon.Runtime})");
        }

        return Ok;
    }

    private static string[] Row(IReadOnlyList<string> addresses, string name, string? user, string path, string details) =>
        [addresses.FirstOrDefault(a => !a.Contains(':')) ?? addresses.FirstOrDefault() ?? "-", name, user ?? "-", path, details];

    private static string PathText(PathInfo path) => path.Kind switch
    {
        "direct" => $"direct {path.Direct}",
        "relay" => $"relay \"{path.RelayRegion}\"",
        _ => "-",
    };

    private static string PeerDetails(PeerStatusInfo peer)
    {
        var parts = new List<string> { peer.Online ? "online" : "offline" };
        if (peer.Tags.Count > 0)
        {
            parts.Add(string.Join(",", peer.Tags));
        }

        if (peer.RxBytes > 0 || peer.TxBytes > 0)
        {
            parts.Add($"rx {Bytes(peer.RxBytes)} tx {Bytes(peer.TxBytes)}");
        }

        if (peer.LastHandshake is { } handshake)
        {
            parts.Add($"handshake {Ago(DateTimeOffset.UtcNow - handshake)} ago");
        }

        return string.Join("; ", parts);
    }

    private void WriteTable(List<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length - 1).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            var cells = row.Take(widths.Length).Select((cell, c) => cell.PadRight(widths[c])).Append(row[^1]);
            stdout.WriteLine(string.Join("  ", cells).TrimEnd());
        }
    }

    private static string Bytes(long n) => n switch
    {
        < 1024 => $"{n} B",
        < 1024 * 1024 => (n / 1024.0).ToString("0.#", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (n / (1024.0 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " MiB",
        _ => (n / (1024.0 * 1024 * 1024)).ToString("0.#", CultureInfo.InvariantCulture) + " GiB",
    };

    private static string Ago(TimeSpan span) => span.TotalSeconds switch
    {
        < 0 => "0s",
        < 120 => $"{(int)span.TotalSeconds}s",
        < 7200 => $"{(int)span.TotalMinutes}m",
        < 172800 => $"{(int)span.TotalHours}h",
        _ => $"{(int)span.TotalDays}d",
    };

}
