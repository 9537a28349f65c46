using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// One peer's Noise_IKpsk2 handshake (W 5.4) and its cookie state (W 5.4.7), byte-compatible with wireguard-go and
/// the Linux kernel. Not thread-safe: the caller holds the peer's lock around every call.
///
/// Transitions:
///   any                --TryCreateInitiation--> InitiationCreated   (PendingLocalIndex = the new index)
///   any                --TryAccept-->           InitiationConsumed  (a pending initiation of ours is dropped)
///   InitiationConsumed --TryCreateResponse-->   Zeroed              (responder session keys out)
///   InitiationCreated  --TryConsumeResponse-->  Zeroed              (initiator session keys out)
///   any                --Clear-->               Zeroed
/// A failed call leaves the state as it was, except that a response which cannot be computed clears the
/// consumed initiation. The greatest accepted timestamp, the flood clock and the cookie survive every transition.
/// </summary>
public sealed partial class Handshake
{
    private readonly LocalIdentity _local;

    // Derived from the remote static key once: where our initiations start their transcript, the MAC1 key of
    // messages to the peer, the key its cookie replies are sealed with, and DH(S_i^priv, S_r^pub).
    private readonly Key32 _initialHash;
    private readonly Key32 _mac1Key;
    private readonly Key32 _cookieKey;
    private readonly Key32 _staticStatic;
    private readonly bool _staticStaticValid;

    // Ephemeral handshake state, zeroed by Clear and on completion.
    private Bytes32 _hash;
    private Bytes32 _chainingKey;
    private Bytes32 _localEphemeral;
    private Bytes32 _remoteEphemeral;
    private uint _remoteIndex;

    // Replay and flood protection for initiations from this peer (W 5.1; wireguard-go's 20 ms rule).
    private Tai64N _greatestTimestamp;
    private TimeSpan? _lastInitiationConsumed;

    public Handshake(LocalIdentity local, NodePublicKey remoteStatic, PresharedKey presharedKey)
    {
        ArgumentNullException.ThrowIfNull(local);
        _local = local;
        RemoteStatic = remoteStatic;
        PresharedKey = presharedKey;
        _initialHash = NoiseConstants.HashWithResponderStatic(remoteStatic);
        _mac1Key = NoiseConstants.LabelKey(NoiseConstants.LabelMac1, remoteStatic);
        _cookieKey = NoiseConstants.LabelKey(NoiseConstants.LabelCookie, remoteStatic);

        Span<byte> staticStatic = stackalloc byte[X25519.KeyLength];
        _staticStaticValid = X25519.TrySharedSecret(local.PrivateKey.Value.Span, remoteStatic.Value.Span, staticStatic);
        _staticStatic = Key32.FromSpan(staticStatic);
        CryptographicOperations.ZeroMemory(staticStatic);
    }

    public NodePublicKey RemoteStatic { get; }

    /// <summary>Q, mixed in by the response (all zero when unused). Takes effect from the next response.</summary>
    public PresharedKey PresharedKey { get; set; }

    public HandshakeStateKind State { get; private set; }

    /// <summary>The sender index of our outstanding initiation; 0 unless <see cref="State"/> is InitiationCreated.</summary>
    public uint PendingLocalIndex { get; private set; }

    /// <summary>Test hook: replaces random ephemeral keys so that messages can be compared with fixed vectors.</summary>
    internal Func<NodePrivateKey>? EphemeralKeySource { get; set; }

    /// <summary>Zeroes the keys of the handshake in flight; keeps the greatest timestamp, flood clock and cookie.</summary>
    public void Clear()
    {
        CryptographicOperations.ZeroMemory(_hash);
        CryptographicOperations.ZeroMemory(_chainingKey);
        CryptographicOperations.ZeroMemory(_localEphemeral);
        CryptographicOperations.ZeroMemory(_remoteEphemeral);
        _remoteIndex = 0;
        PendingLocalIndex = 0;
        State = HandshakeStateKind.Zeroed;
    }

    /// <summary>Fills <paramref name="privateKey"/> with a fresh ephemeral key and writes its public half.</summary>
    private bool TryNewEphemeral(Span<byte> privateKey, Span<byte> publicKey)
    {
        if (EphemeralKeySource is { } source)
        {
            source().Value.CopyTo(privateKey);
        }
        else
        {
            X25519.GeneratePrivateKey(privateKey);
        }

        return X25519.TryPublicKey(privateKey, publicKey);
    }

    /// <summary>(send, receive) = KDF2(C, ε) for the initiator, swapped for the responder (W 5.4.5).</summary>
    private static SessionKeys DeriveSessionKeys(ReadOnlySpan<byte> chainingKey, uint localIndex, uint remoteIndex, bool isInitiator)
    {
        Span<byte> first = stackalloc byte[Kdf.OutputLength];
        Span<byte> second = stackalloc byte[Kdf.OutputLength];
        Kdf.Derive2(chainingKey, ReadOnlySpan<byte>.Empty, first, second);
        var keys = isInitiator
            ? new SessionKeys(Key32.FromSpan(first), Key32.FromSpan(second), localIndex, remoteIndex, IsInitiator: true)
            : new SessionKeys(Key32.FromSpan(second), Key32.FromSpan(first), localIndex, remoteIndex, IsInitiator: false);
        CryptographicOperations.ZeroMemory(first);
        CryptographicOperations.ZeroMemory(second);
        return keys;
    }
}
