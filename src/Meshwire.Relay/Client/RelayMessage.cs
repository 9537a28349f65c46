using Meshwire.Core;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay;

/// <summary>What <see cref="RelayClient.ReceiveAsync"/> returned.</summary>
public enum RelayMessageKind
{
    /// <summary>A packet from <see cref="RelayMessage.Peer"/>; its bytes are the first <see cref="RelayMessage.Length"/> of the caller's buffer.</summary>
    Packet,

    /// <summary>The peer left the relay, or was never there (<see cref="RelayMessage.GoneReason"/>).</summary>
    PeerGone,

    /// <summary>Mesh watchers only: the peer is connected to the relay this client talks to.</summary>
    PeerPresent,

    /// <summary>A new connection to the relay is up (first connect or reconnect): re-announce state.</summary>
    Connected,

    /// <summary>The connection was lost; the next receive reconnects with backoff.</summary>
    Disconnected,
}

/// <summary>One event from the relay. A value type: receiving allocates nothing.</summary>
public readonly record struct RelayMessage(RelayMessageKind Kind, NodePublicKey Peer = default, int Length = 0, PeerGoneReason GoneReason = PeerGoneReason.Disconnected);
