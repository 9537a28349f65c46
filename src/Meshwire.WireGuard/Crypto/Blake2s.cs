using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace Meshwire.WireGuard.Crypto;

/// <summary>
/// The three BLAKE2s constructions of the whitepaper (section 5.4): HASH (BLAKE2s-256), MAC (keyed BLAKE2s-128)
/// and HMAC (RFC 2104 over BLAKE2s-256, block size 64). Backed by BouncyCastle because neither .NET nor
/// libsodium offers BLAKE2s. Only the handshake and cookie paths use this, never the transport path.
/// </summary>
internal static class Blake2s
{
    public const int HashLength = 32;
    public const int MacLength = 16;

    // Unkeyed digests and the HMAC are reset after each use, so one per thread avoids allocating per call.
    [ThreadStatic]
    private static Blake2sDigest? t_hash;

    [ThreadStatic]
    private static HMac? t_hmac;

    private static Blake2sDigest HashDigest => t_hash ??= new Blake2sDigest(HashLength * 8);

    private static HMac HmacInstance => t_hmac ??= new HMac(new Blake2sDigest(HashLength * 8));

    /// <summary>HASH(input) into a 32-byte destination.</summary>
    public static void Hash(ReadOnlySpan<byte> input, Span<byte> destination)
    {
        var digest = HashDigest;
        digest.BlockUpdate(input);
        digest.DoFinal(destination[..HashLength]);
    }

    /// <summary>HASH(first || second) into a 32-byte destination, which may alias either input.</summary>
    public static void Hash(ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        var digest = HashDigest;
        digest.BlockUpdate(first);
        digest.BlockUpdate(second);
        digest.DoFinal(destination[..HashLength]);
    }

    /// <summary>MAC(key, input): keyed BLAKE2s with a 16-byte output; the key is 16 or 32 bytes.</summary>
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> destination)
    {
        var keyBytes = key.ToArray();
        var digest = new Blake2sDigest(keyBytes, MacLength, null, null);
        digest.BlockUpdate(input);
        digest.DoFinal(destination[..MacLength]);
        digest.ClearKey();
        Array.Clear(keyBytes);
    }

    /// <summary>HMAC(key, input) into a 32-byte destination, which may alias the inputs.</summary>
    public static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input, Span<byte> destination) =>
        Hmac(key, input, ReadOnlySpan<byte>.Empty, destination);

    /// <summary>HMAC(key, first || second) into a 32-byte destination, which may alias the inputs.</summary>
    public static void Hmac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Span<byte> destination)
    {
        var hmac = HmacInstance;
        hmac.Init(new KeyParameter(key));
        hmac.BlockUpdate(first);
        hmac.BlockUpdate(second);
        hmac.DoFinal(destination[..HashLength]);
    }
}
