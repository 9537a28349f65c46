using Meshwire.Core;

namespace Meshwire.Net.Engine;

/// <summary>
/// The path layer between the WireGuard device and the network (meshwired): every datagram the device sends passes
/// <see cref="Route"/>, which either names the UDP address to send it to (a proven direct path) or takes the datagram
/// itself (through a relay) or drops it; every received UDP datagram that is not WireGuard (discovery, STUN) goes to
/// <see cref="TryConsume"/>. Datagrams that arrive through a relay come back in through
/// <see cref="WireGuardEngine.DeliverInbound"/>. Called on packet threads, several at once: no allocation on the
/// direct path, no throw.
/// </summary>
public interface IDatagramRouter
{
    /// <summary>
    /// Decides a sealed WireGuard datagram addressed to <paramref name="destination"/> (the peer's endpoint as the
    /// device knows it). True: send it by UDP to the (possibly rewritten) destination. False: the router took it.
    /// </summary>
    bool Route(ReadOnlySpan<byte> datagram, ref EndpointAddress destination);

    /// <summary>True when the datagram was the router's own (discovery or STUN) and must not reach WireGuard.</summary>
    bool TryConsume(ReadOnlySpan<byte> datagram, EndpointAddress source, TimeSpan now);
}
