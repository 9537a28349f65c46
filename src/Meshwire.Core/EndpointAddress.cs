using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Meshwire.Core;

/// <summary>
/// A UDP endpoint held by value: an IPv6 address (IPv4 stored v4-mapped) and a port.
/// Used on the packet path instead of IPEndPoint so that comparing and storing endpoints allocates nothing.
/// </summary>
public readonly struct EndpointAddress : IEquatable<EndpointAddress>
{
    private readonly ulong _high;
    private readonly ulong _low;
    private readonly ushort _port;

    private EndpointAddress(ulong high, ulong low, ushort port)
    {
        _high = high;
        _low = low;
        _port = port;
    }

    public ushort Port => _port;

    public bool IsEmpty => _high == 0 && _low == 0 && _port == 0;

    /// <summary>True when the address is an IPv4 address (stored as ::ffff:a.b.c.d).</summary>
    public bool IsIPv4 => _high == 0 && (_low >> 32) == 0x0000_FFFF;

    /// <summary>Builds from 4 (IPv4) or 16 (IPv6) network-order address bytes and a port.</summary>
    public static EndpointAddress FromBytes(ReadOnlySpan<byte> address, ushort port)
    {
        Span<byte> v6 = stackalloc byte[16];
        if (address.Length == 4)
        {
            v6[10] = 0xFF;
            v6[11] = 0xFF;
            address.CopyTo(v6[12..]);
        }
        else if (address.Length == 16)
        {
            address.CopyTo(v6);
        }
        else
        {
            throw new ArgumentException("An IP address is 4 or 16 bytes.", nameof(address));
        }

        return new EndpointAddress(BinaryPrimitives.ReadUInt64BigEndian(v6), BinaryPrimitives.ReadUInt64BigEndian(v6[8..]), port);
    }

    public static EndpointAddress FromIPEndPoint(IPEndPoint endPoint)
    {
        Span<byte> bytes = stackalloc byte[16];
        var address = endPoint.Address;
        address.TryWriteBytes(bytes, out var written);
        return FromBytes(bytes[..written], (ushort)endPoint.Port);
    }

    /// <summary>Writes the 16-byte (v4-mapped for IPv4) address in network order.</summary>
    public void WriteAddress16(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, _high);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], _low);
    }

    public IPEndPoint ToIPEndPoint()
    {
        Span<byte> bytes = stackalloc byte[16];
        WriteAddress16(bytes);
        var address = IsIPv4 ? new IPAddress(bytes[12..]) : new IPAddress(bytes);
        return new IPEndPoint(address, _port);
    }

    public bool Equals(EndpointAddress other) => _high == other._high && _low == other._low && _port == other._port;

    public override bool Equals(object? obj) => obj is EndpointAddress other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_high, _low, _port);

    public static bool operator ==(EndpointAddress left, EndpointAddress right) => left.Equals(right);

    public static bool operator !=(EndpointAddress left, EndpointAddress right) => !left.Equals(right);

    /// <summary>"1.2.3.4:51820" or "[fd00::1]:51820", the form wg and the UAPI use.</summary>
    public override string ToString()
    {
        var ep = ToIPEndPoint();
        return ep.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ep.Address}]:{ep.Port}" : $"{ep.Address}:{ep.Port}";
    }
}
