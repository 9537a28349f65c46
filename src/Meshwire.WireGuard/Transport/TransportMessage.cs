using System.Buffers.Binary;

namespace Meshwire.WireGuard.Transport;

/// <summary>
/// Layout of the transport data message (whitepaper 5.4.6), little endian like every WireGuard field:
/// <code>
/// 0      1       4          8                16                     16+P        16+P+16
/// | type=4 | 0 0 0 | receiver | counter (u64) | padded IP packet (P) | Poly1305 tag |
/// </code>
/// The body is ChaCha20-Poly1305 under the sending key with nonce 0x00000000 || counter (little endian) and empty
/// associated data; the plaintext is zero padded to a multiple of 16 bytes to blur packet lengths.
/// </summary>
public static class TransportMessage
{
    public const byte MessageType = 4;
    public const int HeaderLength = 16;
    public const int TagLength = 16;
    public const int PaddingMultiple = 16;

    /// <summary>A keepalive: header, empty body, tag.</summary>
    public const int MinimumLength = HeaderLength + TagLength;

    internal const int NonceLength = 12;
    internal const int ReceiverOffset = 4;
    internal const int CounterOffset = 8;

    /// <summary>Plaintext length after padding to a multiple of 16.</summary>
    public static int PaddedLength(int plaintextLength) => (plaintextLength + PaddingMultiple - 1) & ~(PaddingMultiple - 1);

    /// <summary>
    /// Plaintext length after padding to a multiple of 16 but never beyond <paramref name="mtu"/>, as the reference
    /// implementations do so that a full-size packet still fits the tunnel MTU (1420 stays 1420, not 1424).
    /// </summary>
    public static int PaddedLength(int plaintextLength, int mtu) =>
        plaintextLength >= mtu ? plaintextLength : Math.Min(PaddedLength(plaintextLength), mtu);

    /// <summary>Datagram length for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public static int DatagramLength(int plaintextLength) => HeaderLength + PaddedLength(plaintextLength) + TagLength;

    /// <summary>The receiver index of a datagram at least <see cref="HeaderLength"/> bytes long.</summary>
    public static uint ReadReceiver(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt32LittleEndian(datagram[ReceiverOffset..]);

    /// <summary>The counter of a datagram at least <see cref="HeaderLength"/> bytes long.</summary>
    public static ulong ReadCounter(ReadOnlySpan<byte> datagram) => BinaryPrimitives.ReadUInt64LittleEndian(datagram[CounterOffset..]);

    internal static void WriteHeader(Span<byte> datagram, uint receiver, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(datagram, MessageType);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram[ReceiverOffset..], receiver);
        BinaryPrimitives.WriteUInt64LittleEndian(datagram[CounterOffset..], counter);
    }

    internal static void WriteNonce(Span<byte> nonce, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }
}
