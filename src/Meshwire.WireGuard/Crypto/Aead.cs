using System.Buffers.Binary;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// AEAD and XAEAD of the whitepaper (section 5.4): ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of 32 zero bits
/// followed by a 64-bit little-endian counter, and XChaCha20-Poly1305 with a 192-bit random nonce, called in libsodium
/// directly on the caller's key bytes (<see cref="Sodium"/>). Ciphertext is plaintext length + 16. Open never throws on
/// bad input; it returns false and leaves the destination unwritten when the tag does not verify.
/// </summary>
internal static unsafe class Aead
{
    public const int KeyLength = 32;
    public const int TagLength = 16;
    public const int NonceLength = 12;
    public const int XNonceLength = 24;

    public static void Seal(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        Seal(extended: false, key, nonce, plaintext, associatedData, destination);
    }

    public static bool TryOpen(ReadOnlySpan<byte> key, ulong counter, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        WriteCounterNonce(counter, nonce);
        return TryOpen(extended: false, key, nonce, ciphertext, associatedData, destination);
    }

    /// <summary>ChaCha20-Poly1305 with an explicit 12-byte nonce (used by the RFC 8439 known-answer test).</summary>
    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        Seal(extended: false, key, nonce, plaintext, associatedData, destination);

    public static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        TryOpen(extended: false, key, nonce, ciphertext, associatedData, destination);

    public static void XSeal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        Seal(extended: true, key, nonce, plaintext, associatedData, destination);

    public static bool TryXOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination) =>
        TryOpen(extended: true, key, nonce, ciphertext, associatedData, destination);

    /// <summary>
    /// Seals in place: the plaintext is <paramref name="body"/>[..plaintextLength]; ciphertext and tag replace it
    /// (the body must hold plaintextLength + 16 bytes). The hot path of the transport; no checks beyond the lengths.
    /// </summary>
    public static void SealInPlace(byte* key, ReadOnlySpan<byte> nonce, Span<byte> body, int plaintextLength)
    {
        fixed (byte* b = body)
        fixed (byte* n = nonce)
        {
            Sodium.crypto_aead_chacha20poly1305_ietf_encrypt(b, null, b, (ulong)plaintextLength, null, 0, null, n, key);
        }
    }

    /// <summary>Opens in place: ciphertext and tag are <paramref name="body"/>; on success the plaintext is body[..^16].</summary>
    public static bool OpenInPlace(byte* key, ReadOnlySpan<byte> nonce, Span<byte> body)
    {
        fixed (byte* b = body)
        fixed (byte* n = nonce)
        {
            return Sodium.crypto_aead_chacha20poly1305_ietf_decrypt(b, null, null, b, (ulong)body.Length, null, 0, n, key) == 0;
        }
    }

    private static void WriteCounterNonce(ulong counter, Span<byte> nonce)
    {
        nonce[..4].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    private static void Seal(bool extended, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (key.Length != KeyLength || nonce.Length != (extended ? XNonceLength : NonceLength))
        {
            throw new ArgumentException($"AEAD needs a {KeyLength}-byte key and a {(extended ? XNonceLength : NonceLength)}-byte nonce.");
        }

        destination = destination[..(plaintext.Length + TagLength)];
        if (plaintext.Overlaps(destination, out var offset) && offset != 0)
        {
            throw new ArgumentException("The plaintext may only overlap the destination exactly (in place).");
        }

        fixed (byte* c = destination)
        fixed (byte* m = plaintext)
        fixed (byte* ad = associatedData)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            var result = extended
                ? Sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, n, k)
                : Sodium.crypto_aead_chacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, n, k);
            if (result != 0)
            {
                throw new InvalidOperationException("libsodium refused to encrypt.");
            }
        }
    }

    private static bool TryOpen(bool extended, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> associatedData, Span<byte> destination)
    {
        if (ciphertext.Length < TagLength || destination.Length < ciphertext.Length - TagLength || key.Length != KeyLength
            || nonce.Length != (extended ? XNonceLength : NonceLength))
        {
            return false;
        }

        destination = destination[..(ciphertext.Length - TagLength)];
        if (ciphertext.Overlaps(destination, out var offset) && offset != 0)
        {
            return false;
        }

        fixed (byte* m = destination)
        fixed (byte* c = ciphertext)
        fixed (byte* ad = associatedData)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            return (extended
                ? Sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, n, k)
                : Sodium.crypto_aead_chacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, n, k)) == 0;
        }
    }
}
