namespace Meshwire.WireGuard.Transport;

/// <summary>The outcome of opening a transport data message; everything but <see cref="Ok"/> means drop it.</summary>
public enum OpenStatus
{
    Ok,

    /// <summary>The Poly1305 tag did not verify: corrupted, forged, or sealed with another key.</summary>
    AuthenticationFailed,

    /// <summary>Authentic, but its counter was seen already, is behind the replay window, or is out of range.</summary>
    Replayed,

    /// <summary>The keypair is older than REJECT_AFTER_TIME (or destroyed) and may not be used any more.</summary>
    Expired,

    /// <summary>Shorter than a header and a tag.</summary>
    TooShort,
}
