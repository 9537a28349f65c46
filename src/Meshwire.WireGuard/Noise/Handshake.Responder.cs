using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

// Responder role: accepting a decrypted initiation (W 5.1 replay rule) and writing the second message (W 5.4.3).
public sealed partial class Handshake
{
    /// <summary>
    /// Takes over an initiation decrypted by <see cref="InitiationReader"/> when it comes from this peer, carries a
    /// TAI64N timestamp greater than any accepted before, and arrives more than 20 ms after the last accepted one.
    /// On success the state is InitiationConsumed and a pending initiation of ours is abandoned (read
    /// <see cref="PendingLocalIndex"/> first if its index must be released).
    /// </summary>
    public bool TryAccept(ConsumedInitiation consumed, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(consumed);
        if (!ReferenceEquals(consumed.Local, _local)
            || consumed.InitiatorStatic != RemoteStatic
            || consumed.Timestamp <= _greatestTimestamp
            || (_lastInitiationConsumed is { } last && now - last <= NoiseConstants.HandshakeInitiationRate))
        {
            return false;
        }

        Clear();
        consumed.Hash.CopyTo(_hash);
        consumed.ChainingKey.CopyTo(_chainingKey);
        consumed.RemoteEphemeral.CopyTo(_remoteEphemeral);
        _remoteIndex = consumed.SenderIndex;
        _greatestTimestamp = consumed.Timestamp;
        _lastInitiationConsumed = now;
        State = HandshakeStateKind.InitiationConsumed;
        return true;
    }

    /// <summary>
    /// Writes the 92-byte response (with MAC1, and MAC2 when a fresh cookie is held) to the accepted initiation and
    /// derives the session keys (we are the responder). The state returns to Zeroed either way once the response
    /// has been attempted; false without changes when nothing was accepted or the destination is too small.
    /// </summary>
    public bool TryCreateResponse(uint localIndex, TimeSpan now, Span<byte> destination, out SessionKeys keys)
    {
        keys = default;
        if (State != HandshakeStateKind.InitiationConsumed || destination.Length < MessageSize.Response)
        {
            return false;
        }

        var msg = destination[..MessageSize.Response];
        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Span<byte> chainingKey = stackalloc byte[Blake2s.HashLength];
        Span<byte> ephemeralPrivate = stackalloc byte[X25519.KeyLength];
        Span<byte> tau = stackalloc byte[Blake2s.HashLength];
        Span<byte> key = stackalloc byte[Aead.KeyLength];
        Span<byte> sharedSecret = stackalloc byte[X25519.KeyLength];
        try
        {
            msg.Clear();
            msg[0] = MessageType.Response;
            BinaryPrimitives.WriteUInt32LittleEndian(msg[MessageLayout.SenderOffset..], localIndex);
            BinaryPrimitives.WriteUInt32LittleEndian(msg[MessageLayout.ResponseReceiver..], _remoteIndex);

            // msg.ephemeral = E_r^pub; C_r = KDF1(C_r, E_r^pub); H_r = HASH(H_r || msg.ephemeral)
            var ephemeralPublic = msg.Slice(MessageLayout.ResponseEphemeral, X25519.KeyLength);
            if (!TryNewEphemeral(ephemeralPrivate, ephemeralPublic))
            {
                Clear();
                return false;
            }

            Kdf.Derive1(_chainingKey, ephemeralPublic, chainingKey);
            Blake2s.Hash(_hash, ephemeralPublic, hash);

            // C_r = KDF1(C_r, DH(E_r^priv, E_i^pub)); C_r = KDF1(C_r, DH(E_r^priv, S_i^pub))
            if (!X25519.TrySharedSecret(ephemeralPrivate, _remoteEphemeral, sharedSecret))
            {
                Clear();
                return false;
            }

            Kdf.Derive1(chainingKey, sharedSecret, chainingKey);
            if (!X25519.TrySharedSecret(ephemeralPrivate, RemoteStatic.Value.Span, sharedSecret))
            {
                Clear();
                return false;
            }

            Kdf.Derive1(chainingKey, sharedSecret, chainingKey);

            // (C_r, τ, κ) = KDF3(C_r, Q); H_r = HASH(H_r || τ); msg.empty = AEAD(κ, 0, ε, H_r); H_r = HASH(H_r || msg.empty)
            Kdf.Derive3(chainingKey, PresharedKey.Value.Span, chainingKey, tau, key);
            Blake2s.Hash(hash, tau, hash);
            var empty = msg.Slice(MessageLayout.ResponseEmpty, Aead.TagLength);
            Aead.Seal(key, 0, ReadOnlySpan<byte>.Empty, hash, empty);

            WriteMacs(msg, now);

            keys = DeriveSessionKeys(chainingKey, localIndex, _remoteIndex, isInitiator: false);
            Clear();
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(hash);
            CryptographicOperations.ZeroMemory(chainingKey);
            CryptographicOperations.ZeroMemory(ephemeralPrivate);
            CryptographicOperations.ZeroMemory(tau);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }
}
