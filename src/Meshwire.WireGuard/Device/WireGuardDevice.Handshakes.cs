using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

// Handshake flow (whitepaper 5.4):
//   initiator: InitiateHandshakeLocked → initiation → ... ReceiveResponse → keypair installed as current → staged
//              packets (or a keepalive) confirm it to the responder.
//   responder: ReceiveInitiation → response, keypair installed as next → first transport packet under it
//              (ReceiveTransport) makes it current.
// Initiations and responses pass MAC1 always. Under load (5.3: the handshake queue at an eighth of its capacity,
// and for a second after) they must also carry MAC2, or the sender gets a cookie reply and must retry with it; a
// message with a valid MAC2 must then also pass its source's token bucket (HandshakeRateLimiter) before any
// Diffie-Hellman work is done. The driver runs all of this on its handshake worker(s), off the transport path
// (HandshakeQueue, TryProcessQueuedHandshake).
public sealed partial class WireGuardDevice
{
    private readonly HandshakeRateLimiter _rateLimiter = new();

    /// <summary>
    /// The queue between the receiving thread and the handshake worker(s); set by a driver that runs workers. Without
    /// one, <see cref="ProcessInbound"/> handles handshakes on the calling thread and the device is never under load.
    /// </summary>
    public HandshakeQueue? HandshakeQueue { get; init; }

    /// <summary>Forces the under-load state for tests (cookies required for every handshake).</summary>
    internal bool ForceUnderLoad { get; set; }

    /// <summary>
    /// Starts a handshake unless one was sent less than REKEY_TIMEOUT ago. Timers count retries themselves (a retry is
    /// an initiation that follows a Poll asking for one). Caller holds peer.Lock.
    /// </summary>
    private void InitiateHandshakeLocked(Peer peer, TimeSpan now, bool force = false)
    {
        if (peer.Removed || _identity is null)
        {
            return;
        }

        if (!force && !peer.Timers.CanSendHandshakeInitiation(now))
        {
            return;
        }

        var endpoint = peer.Endpoint;
        if (endpoint.IsEmpty)
        {
            Counters.Drop(DropReason.NoEndpoint);
            return;
        }

        _indices.Free(peer.Handshake.PendingLocalIndex);
        var index = _indices.Allocate(peer);
        Span<byte> message = stackalloc byte[MessageSize.Initiation];
        if (!peer.Handshake.TryCreateInitiation(index, _wallClock.GetUtcNow(), now, message))
        {
            _indices.Free(index);
            return;
        }

        peer.Timers.OnHandshakeInitiated(now);
        peer.Timers.OnAnyAuthenticatedPacketSent(now);
        peer.Timers.OnAnyAuthenticatedPacketTraversal(now);
        peer.HandshakePending = true;
        _sender.Send(message, endpoint);
    }

    /// <summary>
    /// Starts a new handshake with the peer now if the one it initiated has gone unanswered for
    /// <paramref name="minimumAge"/>, once per handshake: for a path layer whose first path could not carry the
    /// first messages (a relay the peer had not reached yet, a path that changed under them). Without it the next
    /// attempt waits REKEY_TIMEOUT (5 s). This is the one exception to one-initiation-per-REKEY_TIMEOUT
    /// (whitepaper 6.4): at most one extra initiation per handshake, so at most twice the rate. True when sent.
    /// </summary>
    public bool ExpediteHandshake(NodePublicKey key, TimeSpan minimumAge, TimeSpan now)
    {
        if (FindPeer(key) is not { } peer)
        {
            return false;
        }

        lock (peer.Lock)
        {
            if (!peer.HandshakePending || peer.Expedited || peer.Removed
                || peer.Timers.LastInitiationSent is not { } sent || now - sent < minimumAge)
            {
                return false;
            }

            peer.Expedited = true;
            InitiateHandshakeLocked(peer, now, force: true);
            return true;
        }
    }

    private void ReceiveInitiation(ReadOnlySpan<byte> message, EndpointAddress source, bool underLoad, TimeSpan now)
    {
        var identity = _identity;
        if (identity is null)
        {
            Counters.Drop(DropReason.NoPrivateKey);
            return;
        }

        if (!PassesCookieChecks(message, source, underLoad, now))
        {
            return;
        }

        EndpointAddress endpoint;

        if (!InitiationReader.TryConsume(identity, message, out var consumed) || consumed is null)
        {
            Counters.Drop(DropReason.HandshakeRejected);
            return;
        }

        if (!_peersByKey.TryGetValue(consumed.InitiatorStatic, out var peer))
        {
            Counters.Drop(DropReason.UnknownPeer);
            return;
        }

        Span<byte> response = stackalloc byte[MessageSize.Response];
        lock (peer.Lock)
        {
            var ourPending = peer.Handshake.PendingLocalIndex;
            if (peer.Removed || !peer.Handshake.TryAccept(consumed, now))
            {
                Counters.Drop(DropReason.HandshakeRejected);
                return;
            }

            // Accepting their initiation abandons ours (the responder role wins): its index is dead.
            if (ourPending != 0 && peer.Handshake.PendingLocalIndex != ourPending)
            {
                _indices.Free(ourPending);
            }

            var index = _indices.Allocate(peer);
            if (!peer.Handshake.TryCreateResponse(index, now, response, out var keys))
            {
                _indices.Free(index);
                Counters.Drop(DropReason.HandshakeRejected);
                return;
            }

            var keypair = new Keypair(keys, now);
            _indices.Bind(keys.LocalIndex, peer, keypair);
            var dropped = new List<Keypair>(2);
            peer.Keypairs.InstallAsResponder(keypair, dropped);
            FreeIndices(dropped);
            endpoint = EndpointFor(peer, source, now);
            peer.SetEndpoint(endpoint);
            peer.Timers.OnSessionDerived(now);
            peer.Timers.OnAnyAuthenticatedPacketSent(now);
            peer.Timers.OnAnyAuthenticatedPacketTraversal(now);
        }

        _sender.Send(response, endpoint);
    }

    /// <summary>The endpoint to keep for <paramref name="peer"/> after an authenticated datagram from <paramref name="source"/>.</summary>
    private EndpointAddress EndpointFor(Peer peer, EndpointAddress source, TimeSpan now) =>
        EndpointMapper is { } mapper ? mapper.OnAuthenticatedSource(peer.PublicKey, source, now) : source;

    private void ReceiveResponse(ReadOnlySpan<byte> message, EndpointAddress source, bool underLoad, TimeSpan now)
    {
        if (!PassesCookieChecks(message, source, underLoad, now))
        {
            return;
        }

        var index = MessageReader.ReadReceiverIndex(message);
        if (!_indices.TryLookup(index, out var entry) || entry.Keypair is not null)
        {
            Counters.Drop(DropReason.UnknownReceiverIndex);
            return;
        }

        var peer = entry.Peer;
        lock (peer.Lock)
        {
            if (peer.Removed || peer.Handshake.PendingLocalIndex != index
                || !peer.Handshake.TryConsumeResponse(message, out var keys))
            {
                Counters.Drop(DropReason.HandshakeRejected);
                return;
            }

            var keypair = new Keypair(keys, now);
            _indices.Bind(keys.LocalIndex, peer, keypair);
            var dropped = new List<Keypair>(2);
            peer.Keypairs.InstallAsInitiator(keypair, dropped);
            FreeIndices(dropped);
            peer.PublishSendKeypair();
            peer.SetEndpoint(EndpointFor(peer, source, now));
            OnHandshakeCompleteLocked(peer, now);
            peer.Timers.OnSessionDerived(now);
            peer.Timers.OnAnyAuthenticatedPacketReceived(now);
            peer.Timers.OnAnyAuthenticatedPacketTraversal(now);

            // The responder uses the new keypair only once it sees a packet under it: send one now.
            SendKeepaliveLocked(peer, now);
        }
    }

    private void ReceiveCookieReply(ReadOnlySpan<byte> message, TimeSpan now)
    {
        var index = MessageReader.ReadReceiverIndex(message);
        if (!_indices.TryLookup(index, out var entry))
        {
            Counters.Drop(DropReason.UnknownReceiverIndex);
            return;
        }

        lock (entry.Peer.Lock)
        {
            if (!entry.Peer.Handshake.TryConsumeCookieReply(message, now))
            {
                Counters.Drop(DropReason.HandshakeRejected);
            }
        }
    }

    /// <summary>MAC1 always; under load MAC2 and the source's rate, answering with a cookie reply when MAC2 is missing (5.4.7).</summary>
    private bool PassesCookieChecks(ReadOnlySpan<byte> message, EndpointAddress source, bool underLoad, TimeSpan now)
    {
        var checker = _cookieChecker;
        if (checker is null || !checker.CheckMac1(message))
        {
            Counters.Drop(DropReason.InvalidMac1);
            return false;
        }

        if (!underLoad && !ForceUnderLoad)
        {
            return true;
        }

        if (checker.CheckMac2(message, source, now))
        {
            if (_rateLimiter.Allow(source, now))
            {
                return true;
            }

            Counters.Drop(DropReason.RateLimited);
            return false;
        }

        Span<byte> reply = stackalloc byte[MessageSize.CookieReply];
        var length = checker.WriteCookieReply(message, source, now, reply);
        if (length > 0)
        {
            _sender.Send(reply[..length], source);
        }

        Counters.Drop(DropReason.CookieRequired);
        return false;
    }

    /// <summary>Caller holds peer.Lock.</summary>
    private void OnHandshakeCompleteLocked(Peer peer, TimeSpan now)
    {
        peer.HandshakePending = false;
        peer.Expedited = false;
        peer.LastHandshake = _wallClock.GetUtcNow();
        peer.Timers.OnHandshakeComplete(now);
    }

    private void FreeIndices(List<Keypair> dropped)
    {
        // A packet thread still holding a dropped keypair gets Expired or a zero length from it, never old keys.
        foreach (var keypair in dropped)
        {
            _indices.Free(keypair.LocalIndex);
            keypair.Dispose();
        }
    }
}
