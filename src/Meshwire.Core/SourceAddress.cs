using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Meshwire.Core;

/// <summary>
/// The address a rate limit counts by: IPv4 as is (IPv4-mapped IPv6 folded to IPv4), IPv6 by its /64, the block one
/// host is usually given. <see cref="Address"/> is the address as seen; the key compares only the prefix. An unknown
/// address (null) is one key of its own.
/// </summary>
public readonly record struct SourceAddress(UInt128 Prefix, bool IsV6)
{
    public IPAddress? Address { get; init; }

    public static SourceAddress Of(IPAddress? address)
    {
        if (address is null)
        {
            return default;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return address.AddressFamily == AddressFamily.InterNetwork
            ? new SourceAddress(BinaryPrimitives.ReadUInt32BigEndian(bytes), false) { Address = address }
            : new SourceAddress(BinaryPrimitives.ReadUInt64BigEndian(bytes), true) { Address = address };
    }

    // Equality must ignore Address (two hosts of one /64 share a bucket).
    public bool Equals(SourceAddress other) => Prefix == other.Prefix && IsV6 == other.IsV6;

    public override int GetHashCode() => HashCode.Combine(Prefix, IsV6);

    public override string ToString() => Address?.ToString() ?? "(unknown)";
}
