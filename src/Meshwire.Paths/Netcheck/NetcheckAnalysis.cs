using Meshwire.Core;

namespace Meshwire.Paths.Netcheck;

/// <summary>What a set of STUN probes says about this node's network (what <c>meshwire netcheck</c> shows).</summary>
public sealed record NetcheckAnalysis
{
    /// <summary>At least one STUN server answered: UDP leaves and comes back.</summary>
    public bool Udp { get; init; }

    /// <summary>Our IPv4 address and port as the fastest answering server saw it; null when no IPv4 answer.</summary>
    public EndpointAddress? MappedV4 { get; init; }

    public EndpointAddress? MappedV6 { get; init; }

    /// <summary>
    /// True when every pair of servers (of one address family) saw the same mapped address and port for our one socket:
    /// the NAT maps per source, and hole punching works. False when two saw different ones; null with fewer than two answers.
    /// </summary>
    public bool? EndpointIndependentMapping { get; init; }

    /// <summary>Best round trip per relay region id; a region with no answer is absent.</summary>
    public IReadOnlyDictionary<int, TimeSpan> RegionLatency { get; init; } = new Dictionary<int, TimeSpan>();

    /// <summary>The region with the lowest latency (ties: the lower id); null when none answered.</summary>
    public int? PreferredRegion { get; init; }
}

/// <summary>Turns STUN probe results into a <see cref="NetcheckAnalysis"/>. Pure: no I/O, no clock.</summary>
public static class NetcheckAnalyzer
{
    public static NetcheckAnalysis Analyze(IEnumerable<StunProbe> probes)
    {
        var answered = probes.Where(p => p.Mapped is not null).OrderBy(p => p.RoundTrip).ThenBy(p => p.RegionId).ToList();
        var latency = new Dictionary<int, TimeSpan>();
        foreach (var probe in answered)
        {
            latency.TryAdd(probe.RegionId, probe.RoundTrip);
        }

        var v4 = answered.Where(p => p.Mapped!.Value.IsIPv4).ToList();
        var v6 = answered.Where(p => !p.Mapped!.Value.IsIPv4).ToList();
        return new NetcheckAnalysis
        {
            Udp = answered.Count > 0,
            MappedV4 = v4.Count > 0 ? v4[0].Mapped : null,
            MappedV6 = v6.Count > 0 ? v6[0].Mapped : null,
            EndpointIndependentMapping = Combine(MappingIsIndependent(v4), MappingIsIndependent(v6)),
            RegionLatency = latency,
            PreferredRegion = latency.Count == 0 ? null : latency.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).First().Key,
        };
    }

    /// <summary>Null unless two different servers answered; then whether they all saw one mapping.</summary>
    private static bool? MappingIsIndependent(List<StunProbe> sameFamily)
    {
        var byServer = sameFamily.GroupBy(p => p.Server, StringComparer.Ordinal).Select(g => g.First().Mapped!.Value).ToList();
        if (byServer.Count < 2)
        {
            return null;
        }

        return byServer.All(m => m == byServer[0]);
    }

    private static bool? Combine(bool? v4, bool? v6) => (v4, v6) switch
    {
        (false, _) or (_, false) => false,
        (null, null) => null,
        _ => true,
    };
}
