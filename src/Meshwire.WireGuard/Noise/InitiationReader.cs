using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// The responder's half of W 5.4.2, up to the point where the initiator is known: the transcript is rebuilt from our
/// static key, msg.static is decrypted to learn who is asking, then msg.timestamp proves the initiator holds the
/// matching private key. Peer-specific checks (replay, flood, the preshared key) come later in
/// <see cref="Handshake.TryAccept"/>.
/// </summary>
public static class InitiationReader
{
    /// <summary>
    /// Decrypts an initiation addressed to <paramref name="local"/>. Does not check MAC1 or MAC2: the caller does
    /// that first with <see cref="CookieChecker"/>, because it is far cheaper than the Diffie-Hellman work here.
    /// </summary>
    public static bool TryConsume(LocalIdentity local, ReadOnlySpan<byte> initiation148, out ConsumedInitiation? consumed)
    {
        consumed = null;
        if (!MessageReader.TryGetType(initiation148, out var type) || type != MessageType.Initiation)
        {
            return false;
        }

        var msg = initiation148;
        var ephemeral = msg.Slice(MessageLayout.InitiationEphemeral, X25519.KeyLength);
        var encryptedStatic = msg.Slice(MessageLayout.InitiationStatic, MessageLayout.InitiationStaticLength);
        var encryptedTimestamp = msg.Slice(MessageLayout.InitiationTimestamp, MessageLayout.InitiationTimestampLength);

        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Span<byte> chainingKey = stackalloc byte[Blake2s.HashLength];
        Span<byte> key = stackalloc byte[Aead.KeyLength];
        Span<byte> sharedSecret = stackalloc byte[X25519.KeyLength];
        Span<byte> initiatorStatic = stackalloc byte[X25519.KeyLength];
        Span<byte> timestamp = stackalloc byte[Tai64N.Length];
        try
        {
            // H_r = HASH(HASH(H_i || S_r^pub) || msg.ephemeral); C_r = KDF1(C_i, msg.ephemeral)
            Blake2s.Hash(local.InitialHash.Span, ephemeral, hash);
            Kdf.Derive1(NoiseConstants.InitialChainingKey.Span, ephemeral, chainingKey);

            // (C_r, κ) = KDF2(C_r, DH(S_r^priv, msg.ephemeral)); S_i^pub = AEAD-open(κ, 0, msg.static, H_r)
            if (!X25519.TrySharedSecret(local.PrivateKey.Value.Span, ephemeral, sharedSecret))
            {
                return false;
            }

            Kdf.Derive2(chainingKey, sharedSecret, chainingKey, key);
            if (!Aead.TryOpen(key, 0, encryptedStatic, hash, initiatorStatic))
            {
                return false;
            }

            Blake2s.Hash(hash, encryptedStatic, hash);

            // (C_r, κ) = KDF2(C_r, DH(S_r^priv, S_i^pub)); timestamp = AEAD-open(κ, 0, msg.timestamp, H_r)
            if (!X25519.TrySharedSecret(local.PrivateKey.Value.Span, initiatorStatic, sharedSecret))
            {
                return false;
            }

            Kdf.Derive2(chainingKey, sharedSecret, chainingKey, key);
            if (!Aead.TryOpen(key, 0, encryptedTimestamp, hash, timestamp))
            {
                return false;
            }

            Blake2s.Hash(hash, encryptedTimestamp, hash);

            consumed = new ConsumedInitiation(
                local,
                NodePublicKey.FromSpan(initiatorStatic),
                BinaryPrimitives.ReadUInt32LittleEndian(msg[MessageLayout.SenderOffset..]),
                Key32.FromSpan(chainingKey),
                Key32.FromSpan(hash),
                Key32.FromSpan(ephemeral),
                Tai64N.Read(timestamp));
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(chainingKey);
            CryptographicOperations.ZeroMemory(key);
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }
}
