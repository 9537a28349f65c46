using Meshwire.Core;

namespace Meshwire.Paths.PathSelection;

/// <summary>Why a candidate endpoint is known; a candidate with no origin left is forgotten (unless it carries traffic).</summary>
[Flags]
internal enum CandidateOrigin
{
    None = 0,

    /// <summary>Listed in the peer's netmap entry.</summary>
    Netmap = 1,

    /// <summary>Listed in the peer's latest call-me-maybe.</summary>
    CallMeMaybe = 2,

    /// <summary>A ping, pong or WireGuard datagram from the peer arrived from it (roaming, NAT mappings).</summary>
    Learned = 4,
}

/// <summary>One direct address a peer might be reachable at, and what pings have proven about it.</summary>
internal sealed class Candidate(EndpointAddress address, CandidateOrigin origin)
{
    public EndpointAddress Address { get; } = address;

    public CandidateOrigin Origin { get; set; } = origin;

    public TimeSpan? LastPingSent { get; set; }

    public TimeSpan? LastPong { get; set; }

    /// <summary>Last authenticated WireGuard datagram from this address (only counts once a pong proved the address).</summary>
    public TimeSpan? LastTraffic { get; set; }

    /// <summary>Round trip of the latest answered ping.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>When the path was last shown to work: the later of its last pong and, once ponged, its last traffic.</summary>
    public TimeSpan? ConfirmedAt =>
        LastPong is not { } pong ? null : LastTraffic is { } traffic && traffic > pong ? traffic : pong;

    public bool IsTrusted(TimeSpan now) => ConfirmedAt is { } at && now - at < PathConstants.TrustDuration;

    public bool CanPing(TimeSpan now) => LastPingSent is not { } sent || now - sent >= PathConstants.CandidatePingMinInterval;
}
