using System.Runtime.InteropServices;

namespace Meshwire.Core.Crypto;

/// <summary>The two AEADs of libsodium that Meshwire uses.</summary>
public enum SodiumAeadKind
{
    /// <summary>ChaCha20-Poly1305 with a 96-bit nonce (RFC 8439; WireGuard's transport and handshake).</summary>
    ChaCha20Poly1305,

    /// <summary>XChaCha20-Poly1305 with a 192-bit nonce (WireGuard's cookies, discovery messages).</summary>
    XChaCha20Poly1305,
}

/// <summary>
/// libsodium's AEADs called directly on key bytes the caller keeps. NSec would hold every key in a guarded allocation
/// (sodium_malloc: its own mmap with guard pages, locked), three or more memory mappings and a locked page per key:
/// with session keypairs and a discovery box per peer, a node in a large tailnet would exhaust vm.max_map_count.
/// WireGuard's other implementations keep keys in plain memory too and erase them when done. The library is the one
/// NSec's package ships and loads (every project that calls this references NSec); sodium_init runs before the first
/// call. Combined mode: the 16-byte tag follows the ciphertext. In place works when plaintext and ciphertext start at
/// the same address; decryption checks the tag before it writes anything.
/// </summary>
public static unsafe partial class SodiumAead
{
    public const int KeyLength = 32;
    public const int TagLength = 16;
    public const int NonceLength = 12;
    public const int XNonceLength = 24;

    private const string Library = "libsodium";

    static SodiumAead()
    {
        // Selects the fastest implementations; idempotent and thread-safe.
        if (sodium_init() < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise.");
        }
    }

    /// <summary>Runs sodium_init (once) for callers that use other libsodium functions directly.</summary>
    public static void EnsureInitialized()
    {
    }

    public static int NonceLengthOf(SodiumAeadKind kind) => kind == SodiumAeadKind.XChaCha20Poly1305 ? XNonceLength : NonceLength;

    /// <summary>
    /// Encrypts <paramref name="plaintext"/> into <paramref name="destination"/> (plaintext length + 16 bytes used).
    /// Wrong key or nonce lengths, a short destination or a partial overlap are caller bugs and throw.
    /// </summary>
    public static void Seal(SodiumAeadKind kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        if (key.Length != KeyLength || nonce.Length != NonceLengthOf(kind) || destination.Length < plaintext.Length + TagLength)
        {
            throw new ArgumentException($"{kind} needs a {KeyLength}-byte key, a {NonceLengthOf(kind)}-byte nonce and room for the {TagLength}-byte tag.");
        }

        destination = destination[..(plaintext.Length + TagLength)];
        if (plaintext.Overlaps(destination, out var offset) && offset != 0)
        {
            throw new ArgumentException("The plaintext may overlap the destination only exactly (in place).");
        }

        fixed (byte* c = destination)
        fixed (byte* m = plaintext)
        fixed (byte* ad = associatedData)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            var result = kind == SodiumAeadKind.XChaCha20Poly1305
                ? crypto_aead_xchacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, n, k)
                : crypto_aead_chacha20poly1305_ietf_encrypt(c, null, m, (ulong)plaintext.Length, ad, (ulong)associatedData.Length, null, n, k);
            if (result != 0)
            {
                throw new InvalidOperationException("libsodium refused to encrypt.");
            }
        }
    }

    /// <summary>
    /// Authenticates and decrypts into <paramref name="destination"/> (ciphertext length - 16 bytes used). False, with
    /// nothing written, for a bad tag, wrong lengths or a partial overlap; never throws.
    /// </summary>
    public static bool TryOpen(SodiumAeadKind kind, ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> destination)
    {
        if (key.Length != KeyLength || nonce.Length != NonceLengthOf(kind) || ciphertext.Length < TagLength || destination.Length < ciphertext.Length - TagLength)
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
            return (kind == SodiumAeadKind.XChaCha20Poly1305
                ? crypto_aead_xchacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, n, k)
                : crypto_aead_chacha20poly1305_ietf_decrypt(m, null, null, c, (ulong)ciphertext.Length, ad, (ulong)associatedData.Length, n, k)) == 0;
        }
    }

    /// <summary>
    /// ChaCha20-Poly1305 in place with no associated data, for a packet hot path: the plaintext is
    /// <paramref name="body"/>[..plaintextLength] and the body must hold plaintextLength + 16 bytes; the key is 32 bytes
    /// and the nonce 12. No checks beyond the caller's.
    /// </summary>
    public static void SealInPlace(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, Span<byte> body, int plaintextLength)
    {
        fixed (byte* b = body)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            crypto_aead_chacha20poly1305_ietf_encrypt(b, null, b, (ulong)plaintextLength, null, 0, null, n, k);
        }
    }

    /// <summary>The inverse of <see cref="SealInPlace"/>: body is ciphertext and tag; true when the tag verified.</summary>
    public static bool OpenInPlace(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, Span<byte> body)
    {
        fixed (byte* b = body)
        fixed (byte* n = nonce)
        fixed (byte* k = key)
        {
            return crypto_aead_chacha20poly1305_ietf_decrypt(b, null, null, b, (ulong)body.Length, null, 0, n, k) == 0;
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_chacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_encrypt(byte* c, ulong* clen, byte* m, ulong mlen, byte* ad, ulong adlen, byte* nsec, byte* npub, byte* k);

    [LibraryImport(Library)]
    private static partial int crypto_aead_xchacha20poly1305_ietf_decrypt(byte* m, ulong* mlen, byte* nsec, byte* c, ulong clen, byte* ad, ulong adlen, byte* npub, byte* k);
}
