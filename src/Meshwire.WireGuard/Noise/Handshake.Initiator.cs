using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

// Initiator role: W 5.4.2 (first message) and the initiator's reading of W 5.4.3 (second message).
public sealed partial class Handshake
{
    /// <summary>
    /// Writes a complete 148-byte initiation into <paramref name="destination"/>, including MAC1 and, when a cookie
    /// younger than 120 s is held, MAC2. <paramref name="wallClock"/> becomes the TAI64N timestamp; <paramref name="now"/>
    /// is the monotonic clock the cookie age is measured on. Any previous handshake state is replaced.
    /// </summary>
    public bool TryCreateInitiation(uint localIndex, DateTimeOffset wallClock, TimeSpan now, Span<byte> destination)
    {
        if (destination.Length < MessageSize.Initiation || !_staticStaticValid)
        {
            return false;
        }

        var msg = destination[..MessageSize.Initiation];
        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Span<byte> chainingKey = stackalloc byte[Blake2s.HashLength];
        Span<byte> ephemeralPrivate = stackalloc byte[X25519.KeyLength];
        Span<byte> key = stackalloc byte[Aead.KeyLength];
        Span<byte> sharedSecret = stackalloc byte[X25519.KeyLength];
        Span<byte> timestamp = stackalloc byte[Tai64N.Length];
        try
        {
            msg.Clear();
            msg[0] = MessageType.Initiation;
            BinaryPrimitives.WriteUInt32LittleEndian(msg[MessageLayout.SenderOffset..], localIndex);

            // msg.ephemeral = E_i^pub; C_i = KDF1(C_i, E_i^pub); H_i = HASH(H_i || msg.ephemeral)
            var ephemeralPublic = msg.Slice(MessageLayout.InitiationEphemeral, X25519.KeyLength);
            if (!TryNewEphemeral(ephemeralPrivate, ephemeralPublic))
            {
                return false;
            }

            Kdf.Derive1(NoiseConstants.InitialChainingKey.Span, ephemeralPublic, chainingKey);
            Blake2s.Hash(_initialHash.Span, ephemeralPublic, hash);

            // (C_i, κ) = KDF2(C_i, DH(E_i^priv, S_r^pub)); msg.static = AEAD(κ, 0, S_i^pub, H_i)
            if (!X25519.TrySharedSecret(ephemeralPrivate, RemoteStatic.Value.Span, sharedSecret))
            {
                return false;
            }

            Kdf.Derive2(chainingKey, sharedSecret, chainingKey, key);
            var encryptedStatic = msg.Slice(MessageLayout.InitiationStatic, MessageLayout.InitiationStaticLength);
            Aead.Seal(key, 0, _local.PublicKey.Value.Span, hash, encryptedStatic);
            Blake2s.Hash(hash, encryptedStatic, hash);

            // (C_i, κ) = KDF2(C_i, DH(S_i^priv, S_r^pub)); msg.timestamp = AEAD(κ, 0, TAI64N(), H_i)
            Kdf.Derive2(chainingKey, _staticStatic.Span, chainingKey, key);
            Tai64N.FromWallClock(wallClock).Write(timestamp);
            var encryptedTimestamp = msg.Slice(MessageLayout.InitiationTimestamp, MessageLayout.InitiationTimestampLength);
            Aead.Seal(key, 0, timestamp, hash, encryptedTimestamp);
            Blake2s.Hash(hash, encryptedTimestamp, hash);

            WriteMacs(msg, now);

            hash.CopyTo(_hash);
            chainingKey.CopyTo(_chainingKey);
            ephemeralPrivate.CopyTo(_localEphemeral);
            CryptographicOperations.ZeroMemory(_remoteEphemeral);
            _remoteIndex = 0;
            PendingLocalIndex = localIndex;
            State = HandshakeStateKind.InitiationCreated;
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chainingKey);
            CryptographicOperations.ZeroMemory(ephemeralPrivate);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>
    /// Completes our initiation with the peer's response: derives the session keys (we are the initiator) and returns
    /// to Zeroed. False, with the state unchanged, unless we have an initiation outstanding whose index is the
    /// response's receiver index and the response authenticates with our ephemeral, our static and the preshared key.
    /// MAC1 is not checked here; the caller checks it first with <see cref="CookieChecker.CheckMac1"/>.
    /// </summary>
    public bool TryConsumeResponse(ReadOnlySpan<byte> response92, out SessionKeys keys)
    {
        keys = default;
        if (State != HandshakeStateKind.InitiationCreated
            || !MessageReader.TryGetType(response92, out var type)
            || type != MessageType.Response
            || MessageReader.ReadReceiverIndex(response92) != PendingLocalIndex)
        {
            return false;
        }

        var ephemeral = response92.Slice(MessageLayout.ResponseEphemeral, X25519.KeyLength);
        var empty = response92.Slice(MessageLayout.ResponseEmpty, Aead.TagLength);

        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Span<byte> chainingKey = stackalloc byte[Blake2s.HashLength];
        Span<byte> tau = stackalloc byte[Blake2s.HashLength];
        Span<byte> key = stackalloc byte[Aead.KeyLength];
        Span<byte> sharedSecret = stackalloc byte[X25519.KeyLength];
        try
        {
            // C_r = KDF1(C_r, msg.ephemeral); H_r = HASH(H_r || msg.ephemeral)
            Kdf.Derive1(_chainingKey, ephemeral, chainingKey);
            Blake2s.Hash(_hash, ephemeral, hash);

            // C_r = KDF1(C_r, DH(E_i^priv, E_r^pub)); C_r = KDF1(C_r, DH(S_i^priv, E_r^pub))
            if (!X25519.TrySharedSecret(_localEphemeral, ephemeral, sharedSecret))
            {
                return false;
            }

            Kdf.Derive1(chainingKey, sharedSecret, chainingKey);
            if (!X25519.TrySharedSecret(_local.PrivateKey.Value.Span, ephemeral, sharedSecret))
            {
                return false;
            }

            Kdf.Derive1(chainingKey, sharedSecret, chainingKey);

            // (C_r, τ, κ) = KDF3(C_r, Q); H_r = HASH(H_r || τ); msg.empty = AEAD(κ, 0, ε, H_r)
            Kdf.Derive3(chainingKey, PresharedKey.Value.Span, chainingKey, tau, key);
            Blake2s.Hash(hash, tau, hash);
            if (!Aead.TryOpen(key, 0, empty, hash, Span<byte>.Empty))
            {
                return false;
            }

            var remoteIndex = MessageReader.ReadSenderIndex(response92);
            keys = DeriveSessionKeys(chainingKey, PendingLocalIndex, remoteIndex, isInitiator: true);
            Clear();
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chainingKey);
            CryptographicOperations.ZeroMemory(tau);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }
}
