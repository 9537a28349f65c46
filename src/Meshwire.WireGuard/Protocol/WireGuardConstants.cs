namespace Meshwire.WireGuard.Protocol;

// Partial so the handshake's constants (message types, sizes, construction strings) can live in their own part.
// This part holds the protocol's time and message-count limits, named as in the whitepaper.

/// <summary>Protocol constants of the WireGuard whitepaper, section 6.1 ("Preliminaries", the table of constants).</summary>
public static partial class WireGuardConstants
{
    /// <summary>REKEY_AFTER_MESSAGES (6.1): 2^60 messages sent with one keypair makes the initiator rekey.</summary>
    public const ulong RekeyAfterMessages = 1UL << 60;

    /// <summary>
    /// REJECT_AFTER_MESSAGES (6.1): 2^64 - 2^13 - 1. No counter at or above this value is ever sent or accepted, which
    /// keeps a full replay window of headroom below the 64-bit nonce limit.
    /// </summary>
    public const ulong RejectAfterMessages = ulong.MaxValue - (1UL << 13);

    /// <summary>REKEY_AFTER_TIME (6.1): the initiator starts a new handshake when sending on a keypair this old.</summary>
    public static readonly TimeSpan RekeyAfterTime = TimeSpan.FromSeconds(120);

    /// <summary>REJECT_AFTER_TIME (6.1): a keypair this old is never used to send or receive again.</summary>
    public static readonly TimeSpan RejectAfterTime = TimeSpan.FromSeconds(180);

    /// <summary>REKEY_ATTEMPT_TIME (6.1, 6.4): how long handshake initiations are retried before giving up.</summary>
    public static readonly TimeSpan RekeyAttemptTime = TimeSpan.FromSeconds(90);

    /// <summary>REKEY_TIMEOUT (6.1, 6.4): wait for a handshake response before retrying; also the initiation rate limit.</summary>
    public static readonly TimeSpan RekeyTimeout = TimeSpan.FromSeconds(5);

    /// <summary>KEEPALIVE_TIMEOUT (6.1, 6.5): received data left unanswered this long triggers a keepalive.</summary>
    public static readonly TimeSpan KeepaliveTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Upper bound (exclusive) of the random jitter added to handshake timers, in milliseconds (6.1: "up to 333 ms");
    /// it keeps peers that lost their sessions together from retrying in lockstep.
    /// </summary>
    public const int RekeyTimeoutJitterMaxMilliseconds = 334;

    /// <summary>
    /// Initiations sent in one attempt before giving up: REKEY_ATTEMPT_TIME / REKEY_TIMEOUT (6.4), that is 18 initiations
    /// REKEY_TIMEOUT apart, the last one unanswered REKEY_ATTEMPT_TIME after the first.
    /// </summary>
    public const int MaxHandshakeAttempts = 18;
}
