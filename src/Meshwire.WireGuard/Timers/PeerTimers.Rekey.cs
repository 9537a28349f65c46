using Meshwire.WireGuard.Protocol;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Timers;

// Rekeying decisions taken on the packet path (whitepaper 6.2). They read the keypair only, so the send and receive
// paths can ask without the peer's lock; acting on the answer (sending an initiation) goes through the rate limit in
// CanSendHandshakeInitiation.
public sealed partial class PeerTimers
{
    /// <summary>The receive-side rekey below has been acted on for the current session.</summary>
    public bool SentLastMinuteHandshake { get; private set; }

    /// <summary>
    /// After sending with <paramref name="current"/>: rekey when REKEY_AFTER_MESSAGES messages were sent under it (either
    /// role), or when we initiated it and it is REKEY_AFTER_TIME old. Only the initiator rekeys on age, so the two
    /// sides do not start handshakes at the same moment.
    /// </summary>
    public static bool ShouldRekeyOnSend(Keypair current, TimeSpan now) =>
        current.SendCounterPeek >= WireGuardConstants.RekeyAfterMessages
        || (current.IsInitiator && now - current.Created >= WireGuardConstants.RekeyAfterTime);

    /// <summary>
    /// After receiving data under <paramref name="current"/>: when we initiated it and it is within
    /// KEEPALIVE_TIMEOUT + REKEY_TIMEOUT of REJECT_AFTER_TIME, rekey now, so that a peer that only receives does not
    /// have its session expire under it.
    /// </summary>
    public static bool ShouldRekeyOnReceive(Keypair current, TimeSpan now) =>
        current.IsInitiator
        && now - current.Created >= WireGuardConstants.RejectAfterTime - WireGuardConstants.KeepaliveTimeout - WireGuardConstants.RekeyTimeout;

    /// <summary>
    /// <see cref="ShouldRekeyOnReceive"/>, at most once per completed handshake (6.2: "and it has not yet acted upon this
    /// event"). Returns true when the caller should send an initiation now.
    /// </summary>
    public bool TryClaimLastMinuteHandshake(Keypair current, TimeSpan now)
    {
        if (SentLastMinuteHandshake || !ShouldRekeyOnReceive(current, now))
        {
            return false;
        }

        SentLastMinuteHandshake = true;
        return true;
    }
}
