using System.Buffers.Binary;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Filter;

internal enum FragmentKind : byte
{
    /// <summary>A whole packet.</summary>
    None,

    /// <summary>Offset 0 with more fragments to come: carries the transport header.</summary>
    First,

    /// <summary>Offset &gt; 0: no transport header, only addresses, protocol and fragment id.</summary>
    NonFirst,
}

/// <summary>
/// The fields of an IP packet the filter decides on, parsed without allocating. IPv4 addresses are held in
/// the low 32 bits of a UInt128; <see cref="IsIPv6"/> says which family.
/// </summary>
internal struct IpPacket
{
    // RFC 791 §3.1 and RFC 8200 §3: fixed header sizes.
    private const int IPv4MinHeaderLength = 20;
    private const int IPv6HeaderLength = 40;

    // RFC 8200 §4: extension headers walked before the upper-layer header.
    private const byte HopByHop = 0;
    private const byte Routing = 43;
    private const byte FragmentHeader = 44;
    private const byte DestinationOptions = 60;

    /// <summary>Extension headers walked at most; more is treated as malformed (keeps the parse bounded).</summary>
    private const int MaxExtensionHeaders = 8;

    /// <summary>
    /// RFC 1858 §4 (tiny/overlapping fragment attack): a non-first fragment at offset 1 (8 bytes) can rewrite
    /// TCP flags or ports already checked in the first fragment; such fragments are dropped.
    /// </summary>
    private const int MinNonFirstFragmentOffset = 2;

    public bool IsIPv6;
    public byte Protocol;
    public UInt128 Source;
    public UInt128 Destination;
    public ushort SourcePort;
    public ushort DestinationPort;
    public FragmentKind Fragment;
    public uint FragmentId;
    public byte IcmpType;

    /// <summary>Parses <paramref name="packet"/>; false when it is malformed or truncated.</summary>
    public static bool TryParse(ReadOnlySpan<byte> packet, out IpPacket parsed)
    {
        parsed = default;
        if (packet.IsEmpty)
        {
            return false;
        }

        return (packet[0] >> 4) switch
        {
            4 => TryParseV4(packet, ref parsed),
            6 => TryParseV6(packet, ref parsed),
            _ => false,
        };
    }

    private static bool TryParseV4(ReadOnlySpan<byte> packet, ref IpPacket parsed)
    {
        if (packet.Length < IPv4MinHeaderLength)
        {
            return false;
        }

        var headerLength = (packet[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (headerLength < IPv4MinHeaderLength || totalLength < headerLength || totalLength > packet.Length)
        {
            return false;
        }

        parsed.Protocol = packet[9];
        parsed.Source = BinaryPrimitives.ReadUInt32BigEndian(packet[12..]);
        parsed.Destination = BinaryPrimitives.ReadUInt32BigEndian(packet[16..]);
        parsed.FragmentId = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var flagsAndOffset = BinaryPrimitives.ReadUInt16BigEndian(packet[6..]);
        var offset = flagsAndOffset & 0x1FFF;
        var moreFragments = (flagsAndOffset & 0x2000) != 0;
        if (offset != 0)
        {
            parsed.Fragment = FragmentKind.NonFirst;
            return offset >= MinNonFirstFragmentOffset;
        }

        parsed.Fragment = moreFragments ? FragmentKind.First : FragmentKind.None;
        return TryParseTransport(packet[headerLength..totalLength], ref parsed);
    }

    private static bool TryParseV6(ReadOnlySpan<byte> packet, ref IpPacket parsed)
    {
        if (packet.Length < IPv6HeaderLength)
        {
            return false;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        var end = IPv6HeaderLength + payloadLength;
        if (end > packet.Length)
        {
            return false;
        }

        parsed.IsIPv6 = true;
        parsed.Source = BinaryPrimitives.ReadUInt128BigEndian(packet[8..]);
        parsed.Destination = BinaryPrimitives.ReadUInt128BigEndian(packet[24..]);
        var next = packet[6];
        var at = IPv6HeaderLength;
        for (var walked = 0; ; walked++)
        {
            if (walked > MaxExtensionHeaders)
            {
                return false;
            }

            if (next is HopByHop or Routing or DestinationOptions)
            {
                if (at + 2 > end)
                {
                    return false;
                }

                var length = (packet[at + 1] + 1) * 8;
                next = packet[at];
                at += length;
                if (at > end)
                {
                    return false;
                }
            }
            else if (next == FragmentHeader)
            {
                if (at + 8 > end)
                {
                    return false;
                }

                var offsetAndFlags = BinaryPrimitives.ReadUInt16BigEndian(packet[(at + 2)..]);
                parsed.FragmentId = BinaryPrimitives.ReadUInt32BigEndian(packet[(at + 4)..]);
                var offset = offsetAndFlags >> 3;
                next = packet[at];
                at += 8;
                if (offset != 0)
                {
                    parsed.Protocol = next;
                    parsed.Fragment = FragmentKind.NonFirst;
                    return offset >= MinNonFirstFragmentOffset;
                }

                if ((offsetAndFlags & 1) != 0)
                {
                    parsed.Fragment = FragmentKind.First;
                }
            }
            else
            {
                break;
            }
        }

        parsed.Protocol = next;
        return TryParseTransport(packet[at..end], ref parsed);
    }

    /// <summary>Reads ports (TCP, UDP, SCTP) or ICMP type and echo id; the whole fixed header must be present.</summary>
    private static bool TryParseTransport(ReadOnlySpan<byte> payload, ref IpPacket parsed)
    {
        switch (parsed.Protocol)
        {
            case ProtocolSet.Tcp:
                // RFC 9293 §3.1: 20-byte header, data offset counts 32-bit words.
                if (payload.Length < 20)
                {
                    return false;
                }

                var dataOffset = (payload[12] >> 4) * 4;
                if (dataOffset < 20 || dataOffset > payload.Length)
                {
                    return false;
                }

                ReadPorts(payload, ref parsed);
                return true;
            case ProtocolSet.Udp:
                // RFC 768: 8-byte header.
                if (payload.Length < 8)
                {
                    return false;
                }

                ReadPorts(payload, ref parsed);
                return true;
            case ProtocolSet.Sctp:
                // RFC 9260 §3.1: 12-byte common header, ports first.
                if (payload.Length < 12)
                {
                    return false;
                }

                ReadPorts(payload, ref parsed);
                return true;
            case ProtocolSet.Icmp or ProtocolSet.Icmpv6:
                // RFC 792 / RFC 4443: type, code, checksum, then 4 bytes (identifier + sequence for echo).
                if (payload.Length < 8)
                {
                    return false;
                }

                parsed.IcmpType = payload[0];
                parsed.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(payload[4..]);
                return true;
            default:
                return true;
        }
    }

    private static void ReadPorts(ReadOnlySpan<byte> payload, ref IpPacket parsed)
    {
        parsed.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(payload);
        parsed.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
    }

    public readonly bool CarriesPorts => Protocol is ProtocolSet.Tcp or ProtocolSet.Udp or ProtocolSet.Sctp;

    // RFC 792 echo request 8 / reply 0; RFC 4443 §4.1-4.2 echo request 128 / reply 129.
    public readonly bool IsEchoRequest => (Protocol == ProtocolSet.Icmp && IcmpType == 8) || (Protocol == ProtocolSet.Icmpv6 && IcmpType == 128);

    public readonly bool IsEchoReply => (Protocol == ProtocolSet.Icmp && IcmpType == 0) || (Protocol == ProtocolSet.Icmpv6 && IcmpType == 129);
}
