namespace Meshwire.Net.Engine;

/// <summary>
/// Sees every plaintext IP packet that crosses the tunnel: <see cref="Outbound"/> before a packet read from TUN is
/// sealed, <see cref="Inbound"/> after a packet from a peer is opened and before it is written to TUN. The agent's
/// packet filter lives here (stateful: outbound packets open the way for their replies).
/// Called on the engine's packet threads, several at once: implementations allocate nothing, throw nothing, and
/// swap their state atomically.
/// </summary>
public interface IPacketGate
{
    /// <summary>True to deliver the decrypted packet to TUN; false drops it.</summary>
    bool Inbound(ReadOnlySpan<byte> ipPacket, TimeSpan now);

    void Outbound(ReadOnlySpan<byte> ipPacket, TimeSpan now);
}
