using Meshwire.Core;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.PathSelection;

/// <summary>A peer as the netmap describes it. <paramref name="HomeRelay"/> is a region id, 0 when none.</summary>
public sealed record PathPeer(NodePublicKey NodeKey, DiscoPublicKey DiscoKey, IReadOnlyList<EndpointAddress> Endpoints, int HomeRelay);

public enum PathKind
{
    /// <summary>No direct path is proven and no relay region is known.</summary>
    None,

    /// <summary>UDP straight to <see cref="PathDecision.Direct"/>.</summary>
    Direct,

    /// <summary>Through the relay to the peer's node key (<see cref="PathDecision.RelayRegion"/> is the peer's home region, or ours).</summary>
    Relay,
}

/// <summary>Where to send one WireGuard datagram to a peer now.</summary>
public readonly record struct PathDecision(PathKind Kind, EndpointAddress Direct, int RelayRegion)
{
    public static PathDecision None => default;

    public static PathDecision ToDirect(EndpointAddress address) => new(PathKind.Direct, address, 0);

    public static PathDecision ToRelay(int region) => new(PathKind.Relay, default, region);
}

/// <summary>Where a discovery datagram came from: a UDP address, or the relay (which names the sending node).</summary>
public readonly record struct DiscoSource(EndpointAddress Direct, NodePublicKey RelayedFrom, bool IsRelay)
{
    public static DiscoSource FromDirect(EndpointAddress address) => new(address, default, false);

    public static DiscoSource FromRelay(NodePublicKey sender) => new(default, sender, true);

    public override string ToString() => IsRelay ? $"relay from {RelayedFrom}" : Direct.ToString();
}

/// <summary>
/// One discovery datagram to send, already written at the start of the caller's buffer (<see cref="Length"/> bytes):
/// over UDP to <see cref="Direct"/>, or, when <see cref="ViaRelay"/>, through the relay to <see cref="Peer"/>.
/// </summary>
public readonly record struct Transmit(NodePublicKey Peer, bool ViaRelay, EndpointAddress Direct, int RelayRegion, DiscoMessageType Type, int Length);

/// <summary>What <see cref="PathManager.HandleDisco"/> did with a datagram.</summary>
public enum DiscoReceiveOutcome
{
    /// <summary>Not a discovery datagram (no magic): the caller should pass it on.</summary>
    NotDisco,

    /// <summary>Truncated, oversize or malformed.</summary>
    Malformed,

    /// <summary>The sender's disco key belongs to no peer in the netmap.</summary>
    UnknownSender,

    /// <summary>The box did not open (forgery, corruption, or sealed for another receiver).</summary>
    Forged,

    /// <summary>Opened, but stale, too far in the future, or already seen.</summary>
    Replayed,

    /// <summary>Came through the relay from a node key other than the disco key's owner, or a ping named another node key.</summary>
    SenderMismatch,

    /// <summary>A ping: a pong is queued back to its source.</summary>
    PingAnswered,

    /// <summary>A pong for a ping we sent and still waited for: the path is proven.</summary>
    PongAccepted,

    /// <summary>A pong for no outstanding ping (late, duplicate or never sent).</summary>
    PongUnexpected,

    /// <summary>A call-me-maybe: pings to its endpoints are queued.</summary>
    CallMeMaybeAccepted,
}

/// <summary>
/// Result of <see cref="PathManager.HandleDisco"/>. <see cref="ObservedSelf"/> is set for an accepted pong: the address
/// the peer saw us at (a candidate endpoint of our own, worth reporting to control).
/// </summary>
public readonly record struct DiscoReceiveResult(DiscoReceiveOutcome Outcome, NodePublicKey Peer, EndpointAddress ObservedSelf)
{
    public bool WasDisco => Outcome != DiscoReceiveOutcome.NotDisco;
}

/// <summary>A peer's path for status output. Times are the manager's monotonic clock; null when never.</summary>
public readonly record struct PathStatus(
    PathKind Kind,
    EndpointAddress? Direct,
    int RelayRegion,
    TimeSpan? Latency,
    TimeSpan? LastPong,
    bool Active,
    int Candidates);
