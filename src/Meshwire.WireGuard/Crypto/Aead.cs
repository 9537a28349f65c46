using System.Buffers.Binary;
using NSec.Cryptography;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// AEAD and XAEAD of the whitepaper (section 5.4) over NSec: ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of
/// 32 zero bits followed by a 64-bit little-endian counter, and XChaCha20-Poly1305 with a 192-bit random nonce.
/// Ciphertext is plaintext length + 16. Open never throws on bad input; it returns false.
/// </summary>
internal static class Aead
{
    public const int KeyLength = 32;
    public const int TagLength = 16;
    public const int NonceLength = 12;
    public const int XNonceLength = 24;

    private static readonly AeadAlgorithm ChaCha = AeadAlgorithm.ChaCha20Poly1305;
    private static readonly AeadAlgorithm XChaCha = AeadAlgorithm.XChaCha20Poly1305;

    public static void Seal(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        Seal(ChaCha, key, nonce, plaintext, associatedData, destination);
    }

    public static bool TryOpen(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        return TryOpen(ChaCha, key, nonce, ciphertext, associatedData, destination);
    }

    /// <summary>ChaCha20-Poly1305 with an explicit 12-byte nonce (used by the RFC 8439 known-answer test).</summary>
    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        Seal(ChaCha, key, nonce, plaintext, associatedData, destination);

    public static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        TryOpen(ChaCha, key, nonce, ciphertext, associatedData, destination);

    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        Seal(XChaCha, key, nonce, plaintext, associatedData, destination);

    public static bool TryXOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        TryOpen(XChaCha, key, nonce, ciphertext, associatedData, destination);

    private static void WriteCounterNonce(ulong counter, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    private static void Seal(AeadAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        using var k = Key.Import(algorithm, key, KeyBlobFormat.RawSymmetricKey);
        algorithm.Encrypt(k, nonce, associatedData, plaintext, destination[..(plaintext.Length + TagLength)]);
    }

    private static bool TryOpen(AeadAlgorithm algorithm, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (ciphertext.Length < TagLength || destination.Length < ciphertext.Length - TagLength || key.Length != KeyLength || nonce.Length != algorithm.NonceSize)
        {
            return false;
        }

        using var k = Key.Import(algorithm, key, KeyBlobFormat.RawSymmetricKey);
        return algorithm.Decrypt(k, nonce, associatedData, ciphertext, destination[..(ciphertext.Length - TagLength)]);
    }
}
