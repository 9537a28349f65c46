using System.Runtime.InteropServices;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// The libsodium functions the data plane calls directly, on keys kept in ordinary (pinned) memory. NSec would hold
/// every key in its own guarded allocation (sodium_malloc: an mmap with guard pages, locked): three memory mappings
/// and a locked page per key, so a node with a few thousand live sessions runs into vm.max_map_count. WireGuard's
/// other implementations keep session keys in plain memory too and erase them when a session ends. NSec's package
/// still ships and loads the library; these are the same constructions it calls.
/// </summary>
internal static unsafe partial class Sodium
{
    private const string Library = "libsodium";

    static Sodium()
    {
        // sodium_init selects the fastest implementation; it is idempotent and thread-safe.
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise.");
        }
    }

    /// <summary>Runs the static constructor (sodium_init) before the first call.</summary>
    public static void EnsureInitialized()
    {
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519(byte* q, byte* n, byte* p);

    [LibraryImport(Library)]
    internal static partial int crypto_scalarmult_curve25519_base(byte* q, byte* n);

    // ChaCha20-Poly1305 with a 96-bit nonce (RFC 8439) and XChaCha20-Poly1305 with a 192-bit nonce; combined mode:
    // the 16-byte tag follows the ciphertext. Both work in place (c == m). Decrypt checks the tag before it writes.
    [LibraryImport(Library)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_chacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_xchacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    internal static partial int crypto_aead_xchacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);
}
