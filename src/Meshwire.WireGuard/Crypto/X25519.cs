using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Meshwire.Core.Crypto;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// Raw X25519 (RFC 7748) through the libsodium that NSec ships. NSec keeps shared secrets inside opaque handles,
/// but Noise mixes the raw DH output into the chaining key, so the scalar multiplication is called directly.
/// libsodium clamps the scalar itself, so unclamped private keys give the same results as clamped ones.
/// </summary>
internal static unsafe partial class X25519
{
    public const int KeyLength = 32;

    private const string Library = "libsodium";

    static X25519() => SodiumAead.EnsureInitialized();

    /// <summary>DH(private, public). False when the result is all zero (a low-order public key), as WireGuard requires.</summary>
    public static bool TrySharedSecret(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, Span<byte> destination)
    {
        if (privateKey.Length != KeyLength || publicKey.Length != KeyLength || destination.Length < KeyLength)
        {
            return false;
        }

        int result;
        fixed (byte* q = destination)
        fixed (byte* n = privateKey)
        fixed (byte* p = publicKey)
        {
            result = crypto_scalarmult_curve25519(q, n, p);
        }

        // libsodium already fails on an all-zero output; the explicit check keeps that guarantee independent of its version.
        if (result != 0 || IsZero(destination[..KeyLength]))
        {
            CryptographicOperations.ZeroMemory(destination[..KeyLength]);
            return false;
        }

        return true;
    }

    public static bool TryPublicKey(ReadOnlySpan<byte> privateKey, Span<byte> destination)
    {
        if (privateKey.Length != KeyLength || destination.Length < KeyLength)
        {
            return false;
        }

        int result;
        fixed (byte* q = destination)
        fixed (byte* n = privateKey)
        {
            result = crypto_scalarmult_curve25519_base(q, n);
        }

        return result == 0;
    }

    /// <summary>32 random bytes clamped as RFC 7748 section 5 describes.</summary>
    public static void GeneratePrivateKey(Span<byte> destination)
    {
        RandomNumberGenerator.Fill(destination[..KeyLength]);
        destination[0] &= 248;
        destination[31] &= 127;
        destination[31] |= 64;
    }

    private static bool IsZero(ReadOnlySpan<byte> bytes)
    {
        var acc = 0;
        foreach (var b in bytes)
        {
            acc |= b;
        }

        return acc == 0;
    }

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);
}
