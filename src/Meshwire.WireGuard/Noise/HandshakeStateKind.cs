namespace Meshwire.WireGuard.Noise;

/// <summary>Where a peer's <see cref="Handshake"/> stands; see the transition list on that class.</summary>
public enum HandshakeStateKind
{
    /// <summary>No handshake in flight (after completing one, after Clear, or never started).</summary>
    Zeroed,

    /// <summary>We sent an initiation and wait for its response.</summary>
    InitiationCreated,

    /// <summary>We accepted the peer's initiation and have not written our response yet.</summary>
    InitiationConsumed,
}
