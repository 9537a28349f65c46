using System.Buffers.Binary;
using Meshwire.Core.Crypto;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// AEAD and XAEAD of the whitepaper (section 5.4): ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of 32 zero bits
/// followed by a 64-bit little-endian counter, and XChaCha20-Poly1305 with a 192-bit random nonce, through
/// <see cref="SodiumAead"/> on the caller's key bytes. Ciphertext is plaintext length + 16. Open never throws on bad
/// input; it returns false and leaves the destination unwritten when the tag does not verify.
/// </summary>
internal static class Aead
{
    public const int KeyLength = SodiumAead.KeyLength;
    public const int TagLength = SodiumAead.TagLength;
    public const int NonceLength = SodiumAead.NonceLength;
    public const int XNonceLength = SodiumAead.XNonceLength;

    public static void Seal(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        SodiumAead.Seal(SodiumAeadKind.ChaCha20Poly1305, key, nonce, associatedData, plaintext, destination);
    }

    public static bool TryOpen(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        return SodiumAead.TryOpen(SodiumAeadKind.ChaCha20Poly1305, key, nonce, associatedData, ciphertext, destination);
    }

    /// <summary>ChaCha20-Poly1305 with an explicit 12-byte nonce (used by the RFC 8439 known-answer test).</summary>
    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        SodiumAead.Seal(SodiumAeadKind.ChaCha20Poly1305, key, nonce, associatedData, plaintext, destination);

    public static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        SodiumAead.TryOpen(SodiumAeadKind.ChaCha20Poly1305, key, nonce, associatedData, ciphertext, destination);

    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        SodiumAead.Seal(SodiumAeadKind.XChaCha20Poly1305, key, nonce, associatedData, plaintext, destination);

    public static bool TryXOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        SodiumAead.TryOpen(SodiumAeadKind.XChaCha20Poly1305, key, nonce, associatedData, ciphertext, destination);

    private static void WriteCounterNonce(ulong counter, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }
}
