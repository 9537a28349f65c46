using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Meshwire.Paths.Disco;

/// <summary>A ping's transaction id: 96 random bits, echoed by the pong.</summary>
public readonly record struct DiscoTxId(ulong High, uint Low)
{
    public const int Length = DiscoConstants.TxIdLength;

    public static DiscoTxId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static DiscoTxId Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }

    public override string ToString() => $"{High:x16}{Low:x8}";
}
