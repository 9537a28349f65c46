namespace Meshwire.WireGuard.Timers;

/// <summary>What <see cref="PeerTimers.Poll"/> asks the caller to do now; several may be due at once.</summary>
[Flags]
public enum TimerActions
{
    None = 0,

    /// <summary>
    /// Send a handshake initiation (then call <see cref="PeerTimers.OnHandshakeInitiated"/>): either a retry because no
    /// response came within REKEY_TIMEOUT, or a new handshake because data we sent went unanswered for
    /// KEEPALIVE_TIMEOUT + REKEY_TIMEOUT.
    /// </summary>
    SendHandshakeInitiation = 1 << 0,

    /// <summary>Send a keepalive: we received data KEEPALIVE_TIMEOUT ago and have sent nothing since (passive keepalive).</summary>
    SendKeepalive = 1 << 1,

    /// <summary>Send a keepalive: nothing crossed the tunnel for the persistent keepalive interval.</summary>
    SendPersistentKeepalive = 1 << 2,

    /// <summary>No new session for 3 * REJECT_AFTER_TIME: erase every keypair and the handshake state.</summary>
    ZeroKeys = 1 << 3,

    /// <summary>REKEY_ATTEMPT_TIME of unanswered initiations: drop the packets queued for the handshake and stop retrying.</summary>
    GiveUpHandshake = 1 << 4,
}
