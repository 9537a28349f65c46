using Meshwire.Core;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// An initiation decrypted with our static key (W 5.4.2, responder side) but not yet accepted by the peer it names:
/// the device looks the peer up by <see cref="InitiatorStatic"/> and hands this to that peer's
/// <see cref="Handshake.TryAccept"/>, which checks the timestamp and the flood interval.
/// </summary>
public sealed class ConsumedInitiation
{
    internal ConsumedInitiation(
        LocalIdentity local,
        NodePublicKey initiatorStatic,
        uint senderIndex,
        Key32 chainingKey,
        Key32 hash,
        Key32 remoteEphemeral,
        Tai64N timestamp)
    {
        Local = local;
        InitiatorStatic = initiatorStatic;
        SenderIndex = senderIndex;
        ChainingKey = chainingKey;
        Hash = hash;
        RemoteEphemeral = remoteEphemeral;
        Timestamp = timestamp;
    }

    /// <summary>S_i^pub, decrypted from msg.static.</summary>
    public NodePublicKey InitiatorStatic { get; }

    /// <summary>The initiator's index: the receiver index of our response and of our transport messages.</summary>
    public uint SenderIndex { get; }

    /// <summary>The identity the initiation was decrypted with; it must be the one the accepting handshake uses.</summary>
    internal LocalIdentity Local { get; }

    /// <summary>C_r after msg.timestamp.</summary>
    internal Key32 ChainingKey { get; }

    /// <summary>H_r after msg.timestamp.</summary>
    internal Key32 Hash { get; }

    /// <summary>E_i^pub, msg.ephemeral.</summary>
    internal Key32 RemoteEphemeral { get; }

    internal Tai64N Timestamp { get; }
}
