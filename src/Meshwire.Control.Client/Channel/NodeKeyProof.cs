using System.Security.Cryptography;
using System.Text;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.Control.Channel;

/// <summary>
/// Proof of possession of a node key at registration (docs/protocol.md "Node key proof"). X25519 keys cannot sign,
/// so the proof is a MAC only the holders of the node private key and of the server's private key can compute:
/// <code>
///   dh    = X25519(node private, server public)        = X25519(server private, node public)
///   key   = HKDF-Extract(salt = "meshwire node key proof v1", ikm = dh)            (HMAC-SHA256)
///   proof = HMAC-SHA256(key, machine public || node public || server public)
/// </code>
/// The machine key binds the proof to the channel it travels on (only that machine's channel can present it), the
/// server key to this server. An all-zero dh (a low-order node key) never proves anything.
/// </summary>
internal static class NodeKeyProof
{
    public const int Length = 32;

    private static readonly byte[] Label = Encoding.ASCII.GetBytes("meshwire node key proof v1");

    /// <summary>The node's side: the proof as 64 lowercase hex digits. Throws on a low-order server key.</summary>
    public static string Create(NodePrivateKey nodeKey, MachinePublicKey machine, MachinePublicKey server)
    {
        var nodePublic = Meshwire.WireGuard.Noise.X25519Keys.PublicKeyOf(nodeKey);
        Span<byte> proof = stackalloc byte[Length];
        if (!TryCompute(nodeKey.Value.Span, server.Value.Span, machine, nodePublic, server, proof))
        {
            throw new CryptographicException("the server's key is a low-order point; no proof can be made with it");
        }

        return Convert.ToHexStringLower(proof);
    }

    /// <summary>
    /// The server's side: true when <paramref name="proof"/> (hex) is the proof for <paramref name="node"/> on the
    /// channel of <paramref name="machine"/>. Compared in constant time; false for malformed hex or a zero DH.
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> serverPrivate, MachinePublicKey server, MachinePublicKey machine, NodePublicKey node, string proof)
    {
        Span<byte> presented = stackalloc byte[Length];
        if (proof.Length != Length * 2 || Convert.FromHexString(proof, presented, out _, out var written) != System.Buffers.OperationStatus.Done || written != Length)
        {
            return false;
        }

        Span<byte> expected = stackalloc byte[Length];
        return TryCompute(serverPrivate, node.Value.Span, machine, node, server, expected)
            && CryptographicOperations.FixedTimeEquals(expected, presented);
    }

    private static bool TryCompute(ReadOnlySpan<byte> privateKey, ReadOnlySpan<byte> publicKey, MachinePublicKey machine, NodePublicKey node, MachinePublicKey server, Span<byte> proof)
    {
        Span<byte> dh = stackalloc byte[X25519.KeyLength];
        Span<byte> key = stackalloc byte[Length];
        Span<byte> message = stackalloc byte[3 * Key32.Length];
        try
        {
            // X25519.TrySharedSecret refuses an all-zero result: the signature of a low-order public key.
            if (!X25519.TrySharedSecret(privateKey, publicKey, dh))
            {
                return false;
            }

            HMACSHA256.HashData(Label, dh, key);
            machine.Value.CopyTo(message);
            node.Value.CopyTo(message[Key32.Length..]);
            server.Value.CopyTo(message[(2 * Key32.Length)..]);
            HMACSHA256.HashData(key, message, proof);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dh);
            CryptographicOperations.ZeroMemory(key);
        }
    }
}

/// <summary>
/// The encodings of the points of small order on Curve25519 (the non-canonical p and p + 1 included): with a public
/// key equal to one of them every X25519 result is all zero, so a DH with it is no secret. The top bit is ignored,
/// as RFC 7748 section 5 has X25519 do (every listed encoding has it clear).
/// </summary>
public static class LowOrderPoints
{
    private static readonly byte[][] Points =
    [
        // 0 (order 4)
        Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000000"),

        // 1 (order 1)
        Convert.FromHexString("0100000000000000000000000000000000000000000000000000000000000000"),

        // The two points of order 8.
        Convert.FromHexString("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
        Convert.FromHexString("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),

        // p - 1 (order 2), p (= 0) and p + 1 (= 1).
        Convert.FromHexString("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
        Convert.FromHexString("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    ];

    /// <summary>True when <paramref name="key"/> encodes a point of small order (the top bit aside).</summary>
    public static bool Contains(Key32 key)
    {
        Span<byte> masked = stackalloc byte[Key32.Length];
        key.CopyTo(masked);
        masked[31] &= 0x7f;
        var found = false;
        foreach (var point in Points)
        {
            found |= masked.SequenceEqual(point);
        }

        return found;
    }
}
