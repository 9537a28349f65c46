using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

/// <summary>What the driver does with a datagram after <see cref="WireGuardDevice.ProcessInbound"/>.</summary>
public enum InboundAction
{
    /// <summary>Write datagram[Offset .. Offset+Length] to TUN.</summary>
    WriteToTun,

    /// <summary>Consumed (handshake, cookie or keepalive); nothing for TUN.</summary>
    Handled,

    /// <summary>Dropped and counted.</summary>
    Dropped,

    /// <summary>A handshake message went onto <see cref="WireGuardDevice.HandshakeQueue"/>: wake a worker.</summary>
    HandshakeQueued,
}

public readonly record struct InboundResult(InboundAction Action, int Offset, int Length)
{
    public static InboundResult Handled => new(InboundAction.Handled, 0, 0);

    public static InboundResult Dropped => new(InboundAction.Dropped, 0, 0);

    public static InboundResult HandshakeQueued => new(InboundAction.HandshakeQueued, 0, 0);
}

public sealed partial class WireGuardDevice
{
    /// <summary>
    /// Handles one UDP datagram from <paramref name="source"/>. Transport data is decrypted in place. Handshake
    /// messages go onto <see cref="HandshakeQueue"/> when the device has one (for <see cref="TryProcessQueuedHandshake"/>
    /// on a worker), and are handled here otherwise.
    /// Safe to call from several threads at once; never throws on bad input.
    /// </summary>
    public InboundResult ProcessInbound(Span<byte> datagram, EndpointAddress source, TimeSpan now)
    {
        if (!MessageReader.TryGetType(datagram, out var type))
        {
            Counters.Drop(DropReason.MalformedDatagram);
            return InboundResult.Dropped;
        }

        if (type == MessageType.Transport)
        {
            return ReceiveTransport(datagram, source, now);
        }

        if (HandshakeQueue is not { } queue)
        {
            ReceiveHandshake(type, datagram, source, underLoad: false, now);
            return InboundResult.Handled;
        }

        if (!queue.TryEnqueue(datagram, source))
        {
            Counters.Drop(DropReason.HandshakeQueueFull);
            return InboundResult.Dropped;
        }

        return InboundResult.HandshakeQueued;
    }

    /// <summary>
    /// Takes the oldest message off <see cref="HandshakeQueue"/> and handles it (on a handshake worker).
    /// False when there was none. Safe to call from several workers at once.
    /// </summary>
    public bool TryProcessQueuedHandshake(TimeSpan now)
    {
        if (HandshakeQueue is not { } queue)
        {
            return false;
        }

        // The depth counts the message about to be taken, as the kernel counts the one being handled.
        var underLoad = queue.IsUnderLoad(now);
        Span<byte> message = stackalloc byte[MessageSize.Initiation];
        if (!queue.TryDequeue(message, out var length, out var source))
        {
            return false;
        }

        // Lengths and types were checked before the message was queued.
        ReceiveHandshake(message[0], message[..length], source, underLoad, now);
        return true;
    }

    private void ReceiveHandshake(byte type, ReadOnlySpan<byte> message, EndpointAddress source, bool underLoad, TimeSpan now)
    {
        switch (type)
        {
            case MessageType.Initiation:
                ReceiveInitiation(message, source, underLoad, now);
                break;
            case MessageType.Response:
                ReceiveResponse(message, source, underLoad, now);
                break;
            default:
                ReceiveCookieReply(message, now);
                break;
        }
    }

    private InboundResult ReceiveTransport(Span<byte> datagram, EndpointAddress source, TimeSpan now)
    {
        var index = MessageReader.ReadReceiverIndex(datagram);
        if (!_indices.TryLookup(index, out var entry) || entry.Keypair is not { } keypair)
        {
            Counters.Drop(DropReason.UnknownReceiverIndex);
            return InboundResult.Dropped;
        }

        var status = keypair.Open(datagram, now, out var plaintextLength);
        if (status != OpenStatus.Ok)
        {
            Counters.Drop(status switch
            {
                OpenStatus.Replayed => DropReason.Replayed,
                OpenStatus.Expired => DropReason.KeypairExpired,
                OpenStatus.TooShort => DropReason.MalformedDatagram,
                _ => DropReason.AuthenticationFailed,
            });
            return InboundResult.Dropped;
        }

        var peer = entry.Peer;
        peer.AddRx(datagram.Length);
        // Roaming (whitepaper 2.1): the latest authenticated source becomes the endpoint, unless a path layer maps it.
        var endpoint = EndpointFor(peer, source, now);
        if (peer.Endpoint != endpoint)
        {
            peer.SetEndpoint(endpoint);
        }

        lock (peer.Lock)
        {
            if (ReferenceEquals(peer.Keypairs.Next, keypair))
            {
                ConfirmNextLocked(peer, keypair, now);
            }

            peer.Timers.OnAnyAuthenticatedPacketReceived(now);
            peer.Timers.OnAnyAuthenticatedPacketTraversal(now);
            if (plaintextLength > 0)
            {
                peer.Timers.OnDataReceived(now);
            }

            if (ReferenceEquals(peer.Keypairs.Current, keypair) && peer.Timers.TryClaimLastMinuteHandshake(keypair, now))
            {
                InitiateHandshakeLocked(peer, now);
            }
        }

        if (plaintextLength == 0)
        {
            return InboundResult.Handled;
        }

        var padded = datagram.Slice(MessageSize.TransportHeader, plaintextLength);
        if (!IpPacket.TryGetSourceAndLength(padded, out var innerSource, out var innerLength))
        {
            Counters.Drop(DropReason.MalformedInnerPacket);
            return InboundResult.Dropped;
        }

        if (!ReferenceEquals(_allowedIps.Lookup(innerSource), peer))
        {
            Counters.Drop(DropReason.SourceNotAllowed);
            return InboundResult.Dropped;
        }

        return new InboundResult(InboundAction.WriteToTun, MessageSize.TransportHeader, innerLength);
    }

    /// <summary>First packet under the responder's new keypair confirms it (whitepaper 5.4.6). Caller holds peer.Lock.</summary>
    private void ConfirmNextLocked(Peer peer, Keypair keypair, TimeSpan now)
    {
        var dropped = new List<Keypair>(2);
        if (!peer.Keypairs.ConfirmNext(keypair, dropped))
        {
            return;
        }

        FreeIndices(dropped);
        peer.PublishSendKeypair();
        OnHandshakeCompleteLocked(peer, now);
        FlushStagedLocked(peer, now);
    }
}
