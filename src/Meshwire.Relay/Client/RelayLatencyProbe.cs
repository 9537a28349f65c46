using Meshwire.Protocol;
namespace Meshwire.Relay;

/// <summary>Latency of one relay region as measured by <see cref="RelayLatencyProbe"/>.</summary>
public readonly record struct RelayLatency(int RegionId, string NodeName, TimeSpan RoundTrip);

/// <summary>
/// Chooses a home relay: HTTP round trips to each relay's /relay/probe (the first one opens the connection,
/// so the best of several samples is kept), over a caller's HttpClient. No relay connection is needed.
/// </summary>
public static class RelayLatencyProbe
{
    public const string ProbePath = "/relay/probe";

    /// <summary>Best round trip of <paramref name="samples"/> probes, or null when the relay did not answer in time.</summary>
    public static async Task<TimeSpan?> MeasureAsync(HttpClient http, Uri relayUrl, int samples = 3, TimeSpan? timeout = null, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        timeProvider ??= TimeProvider.System;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(3));
        var probe = new Uri(relayUrl, ProbePath);
        TimeSpan? best = null;
        for (var i = 0; i < samples; i++)
        {
            var started = timeProvider.GetTimestamp();
            try
            {
                using var response = await http.GetAsync(probe, HttpCompletionOption.ResponseHeadersRead, cts.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    return null;
                }
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                return best;
            }

            var elapsed = timeProvider.GetElapsedTime(started);
            best = best is { } b && b <= elapsed ? b : elapsed;
        }

        return best;
    }

    /// <summary>Probes every relay of every region in parallel; returns regions fastest first (unreachable ones left out).</summary>
    public static async Task<IReadOnlyList<RelayLatency>> RankRegionsAsync(HttpClient http, RelayMap map, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var probes = map.Regions
            .SelectMany(region => region.Nodes.Select(node => (region.RegionId, node)))
            .Select(async x => (x.RegionId, x.node.Name, Latency: await MeasureAsync(http, x.node.Url, 3, timeout, null, cancellationToken).ConfigureAwait(false)))
            .ToList();
        var results = await Task.WhenAll(probes).ConfigureAwait(false);
        return [.. results
            .Where(r => r.Latency is not null)
            .GroupBy(r => r.RegionId)
            .Select(g => g.MinBy(r => r.Latency!.Value))
            .Select(r => new RelayLatency(r.RegionId, r.Name, r.Latency!.Value))
            .OrderBy(r => r.RoundTrip)];
    }
}
