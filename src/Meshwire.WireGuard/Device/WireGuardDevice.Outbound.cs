using Meshwire.Core;
using Meshwire.WireGuard.Timers;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

/// <summary>What the driver does with a TUN packet after <see cref="WireGuardDevice.EncryptOutbound"/>.</summary>
public enum OutboundAction
{
    /// <summary>Send the datagram (buffer[0..length]) to the endpoint.</summary>
    Send,

    /// <summary>Kept until a handshake completes; nothing to send now.</summary>
    Staged,

    /// <summary>Dropped and counted.</summary>
    Dropped,
}

public readonly record struct OutboundResult(OutboundAction Action, int Length, EndpointAddress Destination)
{
    public static OutboundResult Staged => new(OutboundAction.Staged, 0, default);

    public static OutboundResult Dropped => new(OutboundAction.Dropped, 0, default);
}

public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Seals a plaintext IP packet read from TUN. The packet sits at buffer[HeadRoom .. HeadRoom+packetLength]
    /// and the buffer has TailRoom bytes after it. On Send the datagram is buffer[0..Length].
    /// Safe to call from several threads at once; allocates nothing unless the packet must wait for a handshake.
    /// </summary>
    public OutboundResult EncryptOutbound(Span<byte> buffer, int packetLength, TimeSpan now)
    {
        var packet = buffer.Slice(HeadRoom, packetLength);
        if (!IpPacket.TryGetDestination(packet, out var destination))
        {
            Counters.Drop(DropReason.MalformedInnerPacket);
            return OutboundResult.Dropped;
        }

        var peer = _allowedIps.Lookup(destination);
        if (peer is null)
        {
            Counters.Drop(DropReason.NoRoute);
            return OutboundResult.Dropped;
        }

        return SealFor(peer, buffer, packetLength, now);
    }

    /// <summary>Seals buffer[HeadRoom..] for one peer, or stages it and starts a handshake.</summary>
    internal OutboundResult SealFor(Peer peer, Span<byte> buffer, int packetLength, TimeSpan now)
    {
        var keypair = peer.SendKeypair;
        if (keypair is null || keypair.IsExpired(now) || !keypair.TryReserveSendCounter(out var counter))
        {
            lock (peer.Lock)
            {
                peer.Stage(buffer.Slice(HeadRoom, packetLength));
                InitiateHandshakeLocked(peer, now);
            }

            return OutboundResult.Staged;
        }

        var endpoint = peer.Endpoint;
        if (endpoint.IsEmpty)
        {
            Counters.Drop(DropReason.NoEndpoint);
            return OutboundResult.Dropped;
        }

        var length = keypair.Seal(counter, buffer, packetLength, Mtu);
        if (length == 0)
        {
            // The keypair was retired under us (rekey or removal); the packet is lost like any in flight.
            Counters.Drop(DropReason.KeypairExpired);
            return OutboundResult.Dropped;
        }

        peer.AddTx(length);
        lock (peer.Lock)
        {
            OnSentLocked(peer, packetLength, now);
            if (PeerTimers.ShouldRekeyOnSend(keypair, now))
            {
                InitiateHandshakeLocked(peer, now);
            }
        }

        return new OutboundResult(OutboundAction.Send, length, endpoint);
    }

    /// <summary>Sends what waited for a session. Caller holds peer.Lock. Returns false if no session is usable.</summary>
    private bool FlushStagedLocked(Peer peer, TimeSpan now)
    {
        var keypair = peer.SendKeypair;
        if (keypair is null)
        {
            return false;
        }

        var endpoint = peer.Endpoint;
        var scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(HeadRoom + ushort.MaxValue + TailRoom);
        try
        {
            while (peer.Staged.Count > 0)
            {
                if (keypair.IsExpired(now) || !keypair.TryReserveSendCounter(out var counter))
                {
                    return false;
                }

                var staged = peer.Staged.Dequeue();
                staged.Span.CopyTo(scratch.AsSpan(HeadRoom));
                var length = keypair.Seal(counter, scratch, staged.Length, Mtu);
                staged.Return();
                if (length == 0)
                {
                    return false;
                }

                if (endpoint.IsEmpty)
                {
                    Counters.Drop(DropReason.NoEndpoint);
                    continue;
                }

                _sender.Send(scratch.AsSpan(0, length), endpoint);
                peer.AddTx(length);
                OnSentLocked(peer, staged.Length, now);
            }

            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Timer events for a sealed transport packet (whitepaper 6); a zero-length packet is a keepalive. Caller holds peer.Lock.</summary>
    private static void OnSentLocked(Peer peer, int plaintextLength, TimeSpan now)
    {
        if (plaintextLength > 0)
        {
            peer.Timers.OnDataSent(now);
        }

        peer.Timers.OnAnyAuthenticatedPacketSent(now);
        peer.Timers.OnAnyAuthenticatedPacketTraversal(now);
    }

    /// <summary>Sends an empty transport packet (keepalive), staging it if there is no session. Caller holds peer.Lock.</summary>
    private void SendKeepaliveLocked(Peer peer, TimeSpan now)
    {
        if (peer.Staged.Count == 0)
        {
            peer.Stage([]);
        }

        if (!FlushStagedLocked(peer, now))
        {
            InitiateHandshakeLocked(peer, now);
        }
    }
}
