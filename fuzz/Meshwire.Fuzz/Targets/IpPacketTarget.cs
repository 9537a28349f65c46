using System.Buffers.Binary;
using System.Net;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// The packet filter's IP parser (src/Meshwire.Policy/Filter/IpPacket.cs) and the filter over it: the input is one
/// decrypted packet about to be written to TUN. Contract: never throws; a parsed packet's addresses are the header's
/// bytes; bytes after the header's total length (WireGuard padding) change nothing; a packet the parser refuses is
/// dropped as Malformed; a filter without rules accepts nothing it has not seen a flow for; an allow-all filter
/// accepts every well-formed first packet.
/// </summary>
public static class IpPacketTarget
{
    public static readonly FuzzTarget Target = new("ip-packet", "packet filter: IPv4/IPv6 header, extension headers, transport ports", Run, Seeds);

    private static readonly TimeSpan Now = TimeSpan.FromDays(21);

    // Fresh filters per input (their flow and fragment tables remember), small so that making them costs little.
    private static readonly PacketFilterOptions Small = new() { FlowCapacity = 16, FragmentCapacity = 16 };

    private static readonly FilterRule AllowAll = new(
        [IPNetwork.Parse("0.0.0.0/0"), IPNetwork.Parse("::/0")],
        [new FilterDestination(IPNetwork.Parse("0.0.0.0/0"), PortRange.All), new FilterDestination(IPNetwork.Parse("::/0"), PortRange.All)],
        ProtocolSet.Any);

    public static void Run(ReadOnlySpan<byte> packet)
    {
        var parsed = IpPacket.TryParse(packet, out var fields);
        if (parsed)
        {
            var version = packet[0] >> 4;
            Check(fields.IsIPv6 == (version == 6), "IsIPv6 disagrees with the version nibble");
            if (fields.IsIPv6)
            {
                Check(fields.Source == BinaryPrimitives.ReadUInt128BigEndian(packet[8..]) && fields.Destination == BinaryPrimitives.ReadUInt128BigEndian(packet[24..]), "IPv6 addresses are not the header's");
            }
            else
            {
                Check(fields.Source == BinaryPrimitives.ReadUInt32BigEndian(packet[12..]) && fields.Destination == BinaryPrimitives.ReadUInt32BigEndian(packet[16..]), "IPv4 addresses are not the header's");
                Check(fields.Protocol == packet[9], "IPv4 protocol is not the header's");
            }

            // What WireGuard's padding adds after the packet is no part of it.
            var padded = new byte[packet.Length + 15];
            packet.CopyTo(padded);
            padded.AsSpan(packet.Length).Fill(0xEE);
            Check(IpPacket.TryParse(padded, out var again) && Same(fields, again), "trailing bytes changed the parse");
        }

        var none = new PacketFilter([], Small);
        var verdict = none.Check(packet, Now);
        Check(!verdict.IsAccepted, "a filter without rules accepted a packet");
        Check((verdict.DropReason == FilterDropReason.Malformed) == !parsed, $"drop reason {verdict.DropReason} for a packet the parser {(parsed ? "accepted" : "refused")}");

        var all = new PacketFilter([AllowAll], Small);
        var open = all.Check(packet, Now);
        Check(open.IsAccepted == (parsed && fields.Fragment != FragmentKind.NonFirst), $"allow-all filter gave {open} to a {(parsed ? fields.Fragment.ToString() : "malformed")} packet");

        // A tracked outbound packet never throws and never makes a malformed packet pass.
        none.TrackOutbound(packet, Now);
        Check(none.Check(packet, Now).IsAccepted == false || parsed, "a malformed packet passed after tracking");
    }

    private static bool Same(in IpPacket a, in IpPacket b) =>
        a.IsIPv6 == b.IsIPv6 && a.Protocol == b.Protocol && a.Source == b.Source && a.Destination == b.Destination
        && a.SourcePort == b.SourcePort && a.DestinationPort == b.DestinationPort && a.Fragment == b.Fragment
        && a.FragmentId == b.FragmentId && a.IcmpType == b.IcmpType;

    private static IEnumerable<(string, byte[])> Seeds()
    {
        yield return ("v4-udp", V4(17, Udp(5353, 53, 4)));
        yield return ("v4-tcp-syn", V4(6, Tcp(40000, 22)));
        yield return ("v4-icmp-echo", V4(1, [8, 0, 0, 0, 0x12, 0x34, 0, 1]));
        yield return ("v4-first-fragment", V4(17, Udp(1, 2, 32), flags: 0x2000));
        yield return ("v4-later-fragment", V4(17, new byte[16], flags: 0x0004));
        yield return ("v6-tcp", V6(6, Tcp(40000, 443)));
        yield return ("v6-icmp-echo", V6(58, [128, 0, 0, 0, 0, 7, 0, 1]));

        // Hop-by-hop options, then a fragment header (first fragment), then UDP.
        var hopByHop = new byte[] { 44, 0, 1, 4, 0, 0, 0, 0 };
        var fragment = new byte[] { 17, 0, 0, 1, 0, 0, 0, 9 };
        yield return ("v6-ext-fragment-udp", V6(0, [.. hopByHop, .. fragment, .. Udp(7, 8, 0)]));
    }

    private static byte[] V4(byte protocol, byte[] payload, ushort flags = 0)
    {
        var packet = new byte[20 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), flags);
        packet[8] = 64;
        packet[9] = protocol;
        packet[12] = 100;
        packet[13] = 64;
        packet[15] = 2;
        packet[16] = 100;
        packet[17] = 64;
        packet[19] = 1;
        payload.CopyTo(packet, 20);
        return packet;
    }

    private static byte[] V6(byte next, byte[] payload)
    {
        var packet = new byte[40 + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload.Length);
        packet[6] = next;
        packet[7] = 64;
        IPAddress.Parse("fd7a:115c:a1e0::2").TryWriteBytes(packet.AsSpan(8, 16), out _);
        IPAddress.Parse("fd7a:115c:a1e0::1").TryWriteBytes(packet.AsSpan(24, 16), out _);
        payload.CopyTo(packet, 40);
        return packet;
    }

    private static byte[] Udp(ushort source, ushort destination, int payloadLength)
    {
        var udp = new byte[8 + payloadLength];
        BinaryPrimitives.WriteUInt16BigEndian(udp, source);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), destination);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        return udp;
    }

    private static byte[] Tcp(ushort source, ushort destination)
    {
        var tcp = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, source);
        BinaryPrimitives.WriteUInt16BigEndian(tcp.AsSpan(2), destination);
        tcp[12] = 5 << 4;
        tcp[13] = 0x02;
        return tcp;
    }
}
