using System.Net;
using Meshwire.Core;

namespace Meshwire.Agent.Paths;

/// <summary>How packets to a peer travel now.</summary>
public enum PathKind
{
    /// <summary>No way to the peer is known (no endpoint, no relay).</summary>
    None,

    /// <summary>UDP straight to the peer's address.</summary>
    Direct,

    /// <summary>Through the peer's home relay.</summary>
    Relay,
}

/// <summary>A peer's current path. <see cref="Direct"/> is set for direct paths, <see cref="RelayRegion"/> for relayed ones.</summary>
public sealed record PeerPathInfo(PathKind Kind, EndpointAddress? Direct = null, string? RelayRegion = null, TimeSpan? Latency = null);

/// <summary>One ping through the tunnel: the reply's round trip and the path the reply came by; <see cref="Error"/> when none came.</summary>
public sealed record PingResult(bool Replied, TimeSpan RoundTrip, PeerPathInfo Path, string? Error = null);

/// <summary>What <c>meshwire netcheck</c> shows.</summary>
public sealed record NetcheckReport
{
    public bool Udp { get; init; }

    public EndpointAddress? MappedV4 { get; init; }

    public EndpointAddress? MappedV6 { get; init; }

    /// <summary>True when the NAT maps one local port to the same public address for every destination; null when unknown.</summary>
    public bool? EndpointIndependentMapping { get; init; }

    public string? PreferredRelayRegion { get; init; }

    /// <summary>Round trip to each relay region by code; a region that did not answer is absent.</summary>
    public IReadOnlyDictionary<string, TimeSpan> RelayLatency { get; init; } = new Dictionary<string, TimeSpan>();
}

/// <summary>
/// The data path's view for the LocalAPI: which path each peer uses, pings through the tunnel, and netcheck.
/// Implemented by the agent's path layer (direct UDP, relays, discovery).
/// </summary>
public interface IPeerPaths
{
    PeerPathInfo PathOf(NodePublicKey peer);

    /// <summary>Sends an ICMP echo to <paramref name="target"/> (a tailnet address of <paramref name="peer"/>) through the tunnel.</summary>
    Task<PingResult> PingAsync(NodePublicKey peer, IPAddress target, TimeSpan timeout, CancellationToken cancellationToken);

    Task<NetcheckReport> NetcheckAsync(CancellationToken cancellationToken);
}
