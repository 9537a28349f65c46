using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Meshwire.Policy.Tests;

/// <summary>Builds IPv4/IPv6 packets byte by byte for filter tests (checksums left zero: the filter does not verify them).</summary>
internal static class Packets
{
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Icmp = 1;
    public const byte Icmpv6 = 58;

    public static byte[] Tcp4(string src, ushort srcPort, string dst, ushort dstPort) => Build(src, dst, Tcp, Transport(Tcp, srcPort, dstPort));

    public static byte[] Udp4(string src, ushort srcPort, string dst, ushort dstPort) => Build(src, dst, Udp, Transport(Udp, srcPort, dstPort));

    public static byte[] Build(string src, string dst, byte protocol, byte[] payload)
    {
        var source = IPAddress.Parse(src);
        var destination = IPAddress.Parse(dst);
        return source.AddressFamily == AddressFamily.InterNetwork
            ? V4(source, destination, protocol, payload)
            : V6(source, destination, protocol, payload);
    }

    /// <summary>A transport header: TCP (20 bytes, SYN), UDP (8), ICMP echo (8; srcPort is the echo id, dstPort the type), else 8 zero bytes.</summary>
    public static byte[] Transport(byte protocol, ushort srcPort, ushort dstPort, int extra = 0)
    {
        switch (protocol)
        {
            case Tcp:
                var tcp = new byte[20 + extra];
                BinaryPrimitives.WriteUInt16BigEndian(tcp, srcPort);
                BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), dstPort);
                tcp[12] = 5 << 4;
                tcp[13] = 0x02;
                return tcp;
            case Udp:
                var udp = new byte[8 + extra];
                BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
                BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), dstPort);
                BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
                return udp;
            case Icmp or Icmpv6:
                var icmp = new byte[8 + extra];
                icmp[0] = (byte)dstPort;
                BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(4), srcPort);
                return icmp;
            default:
                return new byte[8 + extra];
        }
    }

    public static byte[] V4(IPAddress src, IPAddress dst, byte protocol, byte[] payload, ushort id = 1, bool moreFragments = false, int fragmentOffset = 0)
    {
        var packet = new byte[20 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | fragmentOffset));
        packet[8] = 64;
        packet[9] = protocol;
        src.TryWriteBytes(packet.AsSpan(12), out _);
        dst.TryWriteBytes(packet.AsSpan(16), out _);
        payload.CopyTo(packet, 20);
        return packet;
    }

    public static byte[] V6(IPAddress src, IPAddress dst, byte protocol, byte[] payload, uint? fragmentId = null, bool moreFragments = false, int fragmentOffset = 0)
    {
        var fragmentHeader = fragmentId is null ? 0 : 8;
        var packet = new byte[40 + fragmentHeader + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)(fragmentHeader + payload.Length));
        packet[6] = fragmentId is null ? protocol : (byte)44;
        packet[7] = 64;
        src.TryWriteBytes(packet.AsSpan(8), out _);
        dst.TryWriteBytes(packet.AsSpan(24), out _);
        if (fragmentId is { } fid)
        {
            packet[40] = protocol;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(42), (ushort)((fragmentOffset << 3) | (moreFragments ? 1 : 0)));
            BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(44), fid);
        }

        payload.CopyTo(packet, 40 + fragmentHeader);
        return packet;
    }
}
