using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

/// <summary>Static key generation for devices (what `wg genkey` and `wg pubkey` do).</summary>
public static class X25519Keys
{
    /// <summary>A new random private key, clamped (RFC 7748 section 5).</summary>
    public static NodePrivateKey GeneratePrivateKey()
    {
        Span<byte> key = stackalloc byte[X25519.KeyLength];
        X25519.GeneratePrivateKey(key);
        var result = NodePrivateKey.FromSpan(key);
        CryptographicOperations.ZeroMemory(key);
        return result;
    }

    public static NodePublicKey PublicKeyOf(NodePrivateKey key)
    {
        Span<byte> publicKey = stackalloc byte[X25519.KeyLength];
        if (!X25519.TryPublicKey(key.Value.Span, publicKey))
        {
            throw new CryptographicException("X25519 public key derivation failed.");
        }

        return NodePublicKey.FromSpan(publicKey);
    }
}
