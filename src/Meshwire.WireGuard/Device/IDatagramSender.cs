using Meshwire.Core;

namespace Meshwire.WireGuard.Device;

/// <summary>Where the device sends datagrams it makes on its own (handshakes, keepalives, staged packets).</summary>
public interface IDatagramSender
{
    void Send(ReadOnlySpan<byte> datagram, EndpointAddress destination);
}
