using System.Net;

namespace Meshwire.Policy.Filter;

/// <summary>
/// A sample of a dropped packet handed to <see cref="PacketFilterOptions.DropLog"/>. Addresses are kept raw
/// so building the sample allocates nothing; format them with <see cref="ToString"/> in the callback.
/// IPv4 addresses are held in the low 32 bits.
/// </summary>
public readonly record struct FilterDropLog(
    FilterDropReason Reason,
    bool IsIPv6,
    byte Protocol,
    UInt128 Source,
    ushort SourcePort,
    UInt128 Destination,
    ushort DestinationPort,
    long SuppressedSinceLast)
{
    public override string ToString() =>
        $"drop {Reason}: proto {Protocol} {Format(Source)}:{SourcePort} -> {Format(Destination)}:{DestinationPort} ({SuppressedSinceLast} more since last report)";

    private string Format(UInt128 address)
    {
        if (!IsIPv6)
        {
            return new IPAddress(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((uint)address)).ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(bytes, address);
        return new IPAddress(bytes).ToString();
    }
}
