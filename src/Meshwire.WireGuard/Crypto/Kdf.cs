using System.Security.Cryptography;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// KDF_n from the whitepaper (section 5.4), i.e. HKDF with HMAC-BLAKE2s:
/// τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1), τi = HMAC(τ0, τ(i-1) || i).
/// Outputs are 32 bytes each and may alias the key (the chaining key is usually updated in place).
/// </summary>
internal static class Kdf
{
    public const int OutputLength = Blake2s.HashLength;

    public static void Derive1(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> t1)
    {
        Span<byte> t0 = stackalloc byte[OutputLength];
        Blake2s.Hmac(key, input, t0);
        Blake2s.Hmac(t0, [1], t1);
        CryptographicOperations.ZeroMemory(t0);
    }

    public static void Derive2(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2)
    {
        Span<byte> t0 = stackalloc byte[OutputLength];
        Blake2s.Hmac(key, input, t0);
        Blake2s.Hmac(t0, [1], t1);
        Blake2s.Hmac(t0, t1[..OutputLength], [2], t2);
        CryptographicOperations.ZeroMemory(t0);
    }

    public static void Derive3(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> t1, Span<byte> t2, Span<byte> t3)
    {
        Span<byte> t0 = stackalloc byte[OutputLength];
        Blake2s.Hmac(key, input, t0);
        Blake2s.Hmac(t0, [1], t1);
        Blake2s.Hmac(t0, t1[..OutputLength], [2], t2);
        Blake2s.Hmac(t0, t2[..OutputLength], [3], t3);
        CryptographicOperations.ZeroMemory(t0);
    }
}
