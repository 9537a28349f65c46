using System.Runtime.InteropServices;

namespace Meshwire.Paths.Disco;

/// <summary>
/// XChaCha20-Poly1305 (combined mode: the tag follows the ciphertext) called in libsodium directly, on key bytes the
/// <see cref="DiscoBox"/> keeps in its own memory. NSec would hold each key in a guarded allocation (an mmap with
/// guard pages, locked): with two keys per peer of the netmap, a tailnet of thousands of nodes would exhaust
/// vm.max_map_count. NSec's package ships and loads the library; sodium_init runs before the first call.
/// </summary>
internal static unsafe partial class DiscoSodium
{
    private const string Library = "libsodium";

    static DiscoSodium()
    {
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise.");
        }
    }

    public static void Seal(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (key.Length != DiscoConstants.KeyLength || nonce.Length != DiscoConstants.NonceLength || destination.Length != plaintext.Length + DiscoConstants.TagLength)
        {
            throw new ArgumentException("XChaCha20-Poly1305 needs a 32-byte key, a 24-byte nonce and room for the tag.");
        }

        fixed (byte* c = destination)
        fixed (byte* m = plaintext)
        fixed (byte* ad = associatedData)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            if (crypto_aead_xchacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, n, k) != 0)
            {
                throw new InvalidOperationException("libsodium refused to encrypt.");
            }
        }
    }

    /// <summary>False (and nothing written) when the tag does not verify.</summary>
    public static bool TryOpen(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (key.Length != DiscoConstants.KeyLength || nonce.Length != DiscoConstants.NonceLength || ciphertext.Length < DiscoConstants.TagLength
            || destination.Length != ciphertext.Length - DiscoConstants.TagLength)
        {
            return false;
        }

        fixed (byte* m = destination)
        fixed (byte* c = ciphertext)
        fixed (byte* ad = associatedData)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            return crypto_aead_xchacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, n, k) == 0;
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);
}
