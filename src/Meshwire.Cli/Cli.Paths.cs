using System.Globalization;
using Meshwire.Agent.LocalApi;

namespace Meshwire.Cli;

// ping, netcheck.
internal sealed partial class Cli
{
    /// <summary>Pings without -c: until a direct path answers, at most this many.</summary>
    public const int DefaultPingCount = 10;

    private static readonly IReadOnlySet<string> PingValues = new HashSet<string> { "-c", "--timeout" };

    /// <summary>One line per reply; 0 when at least one reply came, 1 when none did.</summary>
    private async Task<int> PingAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, PingValues, JsonOnly);
        parsed.ExpectPositionals(1, 1, "HOST or IP to ping");
        var target = parsed.Positionals[0];
        var count = DefaultPingCount;
        var untilDirect = !parsed.Has("-c");
        if (parsed.Value("-c") is { } countText && (!int.TryParse(countText, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > 10000))
        {
            throw new UsageException($"-c \"{countText}\" must be a count from 1 to 10000");
        }

        TimeSpan? timeout = null;
        if (parsed.Value("--timeout") is { } timeoutText)
        {
            timeout = LocalApiInput.TryParseDuration(timeoutText, TimeSpan.FromSeconds(60), out var t) ? t : throw new UsageException($"--timeout \"{timeoutText}\" must be a duration up to 60s (\"5s\", \"500ms\")");
        }

        var replies = 0;
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                await Task.Delay(PingInterval, cancellationToken);
            }

            var result = await client.PingAsync(target, timeout, cancellationToken);
            if (parsed.Has("--json"))
            {
                CliJson.Write(stdout, result, CliJson.Api.PingResponse);
            }
            else if (result.Replied)
            {
                stdout.WriteLine($"pong from {result.Peer.Name} ({result.Ip}) {Via(result.Path)} in {Milliseconds(result.RttMs ?? 0)}");
            }
            else
            {
                stdout.WriteLine($"no reply from {result.Peer.Name} ({result.Ip}){(result.Error is { } e ? $": {e}" : "")}");
            }

            if (result.Replied)
            {
                replies++;
                if (untilDirect && result.Path.Kind == "direct")
                {
                    break;
                }
            }
        }

        if (replies == 0)
        {
            stderr.WriteLine($"meshwire ping: no reply from {target}");
            return Failed;
        }

        return Ok;
    }

    private async Task<int> NetcheckAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        var report = await client.NetcheckAsync(cancellationToken);
        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, report, CliJson.Api.NetcheckResponse);
            return Ok;
        }

        stdout.WriteLine("Report:");
        stdout.WriteLine($"  * UDP: {(report.Udp ? "yes" : "no (no STUN answer: traffic goes through the relays)")}");
        stdout.WriteLine($"  * IPv4: {report.MappedV4 ?? "(no public address seen)"}");
        stdout.WriteLine($"  * IPv6: {report.MappedV6 ?? "(no public address seen)"}");
        stdout.WriteLine($"  * Endpoint-independent mapping: {report.EndpointIndependentMapping switch { true => "yes", false => "no (hard NAT: direct paths are harder)", null => "unknown" }}");
        stdout.WriteLine($"  * Nearest relay: {report.PreferredRelayRegion ?? "(none)"}");
        if (report.RelayLatencyMs.Count > 0)
        {
            stdout.WriteLine("  * Relay latency:");
            foreach (var (region, ms) in report.RelayLatencyMs.OrderBy(r => r.Value))
            {
                stdout.WriteLine($"    - {region}: {Milliseconds(ms)}");
            }
        }

        return Ok;
    }

    private static string Via(PathInfo path) => path.Kind switch
    {
        "direct" => $"via {path.Direct}",
        "relay" => $"via relay \"{path.RelayRegion}\"",
        _ => "via an unknown path",
    };

    private static string Milliseconds(double ms) =>
        ms < 10 ? ms.ToString("0.#", CultureInfo.InvariantCulture) + "ms" : Math.Round(ms).ToString(CultureInfo.InvariantCulture) + "ms";
}
