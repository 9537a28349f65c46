using System.Net;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Tests;

public sealed class PacketFilterTests
{
    private const string Local4 = "100.64.0.1";
    private const string Peer4 = "100.64.0.2";
    private const string Stranger4 = "100.64.0.9";
    private const string Local6 = "fd7a:115c:a1e0::1";
    private const string Peer6 = "fd7a:115c:a1e0::2";

    // Weeks of uptime, as on a real host (tests/Shared/README.md).
    private static readonly TimeSpan T0 = TimeSpan.FromDays(21) + TimeSpan.FromSeconds(100);

    /// <summary>Peers may reach the local node on TCP 22, UDP 53 and ping it; nothing else.</summary>
    private static PacketFilter Filter(PacketFilterOptions? options = null)
    {
        IPNetwork[] sources = [IPNetwork.Parse(Peer4 + "/32"), IPNetwork.Parse(Peer6 + "/128")];
        FilterDestination[] Destinations(ushort port) =>
            [new(IPNetwork.Parse(Local4 + "/32"), new PortRange(port, port)), new(IPNetwork.Parse(Local6 + "/128"), new PortRange(port, port))];
        return new PacketFilter(
            [
                new FilterRule(sources, Destinations(22), ProtocolSet.Of(ProtocolSet.Tcp)),
                new FilterRule(sources, Destinations(53), ProtocolSet.Of(ProtocolSet.Udp)),
                new FilterRule(sources, Destinations(0), ProtocolSet.Of(ProtocolSet.Icmp, ProtocolSet.Icmpv6)),
            ],
            options);
    }

    [Theory]
    [InlineData(Peer4, Local4, Packets.Tcp, 22, true)]
    [InlineData(Peer4, Local4, Packets.Tcp, 23, false)]
    [InlineData(Stranger4, Local4, Packets.Tcp, 22, false)]
    [InlineData(Peer4, Local4, Packets.Udp, 53, true)]
    [InlineData(Peer4, Local4, Packets.Udp, 22, false)]
    [InlineData(Peer6, Local6, Packets.Tcp, 22, true)]
    [InlineData(Peer6, Local6, Packets.Tcp, 80, false)]
    [InlineData(Peer6, Local6, Packets.Udp, 53, true)]
    [InlineData(Peer4, "100.64.0.3", Packets.Tcp, 22, false)]
    public void Check_TcpUdp_FollowsRules(string src, string dst, byte protocol, ushort port, bool accepted)
    {
        var verdict = Filter().Check(Packets.Build(src, dst, protocol, Packets.Transport(protocol, 40000, port)), T0);
        Assert.Equal(accepted, verdict.IsAccepted);
        Assert.Equal(accepted ? FilterDropReason.None : FilterDropReason.PolicyDenied, verdict.DropReason);
    }

    [Theory]
    [InlineData(Peer4, Local4, Packets.Icmp, 8, true)]
    [InlineData(Stranger4, Local4, Packets.Icmp, 8, false)]
    [InlineData(Peer6, Local6, Packets.Icmpv6, 128, true)]
    [InlineData("fd7a:115c:a1e0::9", Local6, Packets.Icmpv6, 128, false)]
    public void Check_IcmpEcho_FollowsRules(string src, string dst, byte protocol, ushort type, bool accepted) =>
        Assert.Equal(accepted, Filter().Check(Packets.Build(src, dst, protocol, Packets.Transport(protocol, 7, type)), T0).IsAccepted);

    [Theory]
    [InlineData(Packets.Tcp)]
    [InlineData(Packets.Udp)]
    public void Check_ReplyToOutboundFlow_Accepted(byte protocol)
    {
        var filter = Filter();
        filter.TrackOutbound(Packets.Build(Local4, Stranger4, protocol, Packets.Transport(protocol, 50000, 443)), T0);
        var reply = filter.Check(Packets.Build(Stranger4, Local4, protocol, Packets.Transport(protocol, 443, 50000)), T0 + TimeSpan.FromSeconds(1));
        Assert.Equal(FilterAcceptReason.ReplyToOutboundFlow, reply.AcceptReason);
    }

    [Fact]
    public void Check_ReplyFromOtherPort_Denied()
    {
        var filter = Filter();
        filter.TrackOutbound(Packets.Tcp4(Local4, 50000, Stranger4, 443), T0);
        Assert.False(filter.Check(Packets.Tcp4(Stranger4, 444, Local4, 50000), T0).IsAccepted);
    }

    [Fact]
    public void Check_ReplyToIPv6Flow_Accepted()
    {
        var filter = Filter();
        filter.TrackOutbound(Packets.Build(Local6, "fd7a:115c:a1e0::9", Packets.Udp, Packets.Transport(Packets.Udp, 5353, 5353)), T0);
        Assert.True(filter.Check(Packets.Build("fd7a:115c:a1e0::9", Local6, Packets.Udp, Packets.Transport(Packets.Udp, 5353, 5353)), T0).IsAccepted);
    }

    [Fact]
    public void Check_EchoReplyToOutboundPing_Accepted()
    {
        var filter = Filter();
        filter.TrackOutbound(Packets.Build(Local4, Stranger4, Packets.Icmp, Packets.Transport(Packets.Icmp, 99, 8)), T0);
        Assert.True(filter.Check(Packets.Build(Stranger4, Local4, Packets.Icmp, Packets.Transport(Packets.Icmp, 99, 0)), T0).IsAccepted);
        Assert.False(filter.Check(Packets.Build(Stranger4, Local4, Packets.Icmp, Packets.Transport(Packets.Icmp, 100, 0)), T0).IsAccepted);
    }

    [Fact]
    public void Check_ExpiredFlow_Denied()
    {
        var filter = Filter(new PacketFilterOptions { FlowIdleTimeout = TimeSpan.FromSeconds(30) });
        filter.TrackOutbound(Packets.Tcp4(Local4, 50000, Stranger4, 443), T0);
        Assert.False(filter.Check(Packets.Tcp4(Stranger4, 443, Local4, 50000), T0 + TimeSpan.FromSeconds(31)).IsAccepted);
    }

    [Fact]
    public void Check_ReplyRefreshesFlow_StaysOpen()
    {
        var filter = Filter(new PacketFilterOptions { FlowIdleTimeout = TimeSpan.FromSeconds(30) });
        filter.TrackOutbound(Packets.Tcp4(Local4, 50000, Stranger4, 443), T0);
        for (var s = 20; s <= 100; s += 20)
        {
            Assert.True(filter.Check(Packets.Tcp4(Stranger4, 443, Local4, 50000), T0 + TimeSpan.FromSeconds(s)).IsAccepted);
        }
    }

    [Fact]
    public void TrackOutbound_BeyondCapacity_BoundedAndNewestWorks()
    {
        var filter = Filter(new PacketFilterOptions { FlowCapacity = 64 });
        for (ushort port = 1000; port < 2000; port++)
        {
            filter.TrackOutbound(Packets.Tcp4(Local4, port, Stranger4, 443), T0);
        }

        Assert.True(filter.Check(Packets.Tcp4(Stranger4, 443, Local4, 1999), T0).IsAccepted);
    }

    [Fact]
    public void Check_TruncatedAtEveryLength_DroppedMalformed()
    {
        byte[][] packets =
        [
            Packets.Tcp4(Peer4, 40000, Local4, 22),
            Packets.Udp4(Peer4, 40000, Local4, 53),
            Packets.Build(Peer4, Local4, Packets.Icmp, Packets.Transport(Packets.Icmp, 1, 8)),
            Packets.Build(Peer6, Local6, Packets.Tcp, Packets.Transport(Packets.Tcp, 40000, 22)),
            Packets.Build(Peer6, Local6, Packets.Icmpv6, Packets.Transport(Packets.Icmpv6, 1, 128)),
        ];
        foreach (var packet in packets)
        {
            var filter = Filter();
            Assert.True(filter.Check(packet, T0).IsAccepted);
            for (var length = 0; length < packet.Length; length++)
            {
                var verdict = filter.Check(packet.AsSpan(0, length), T0);
                Assert.Equal(FilterDropReason.Malformed, verdict.DropReason);
                filter.TrackOutbound(packet.AsSpan(0, length), T0);
            }

            Assert.Equal(packet.Length, filter.GetDropCount(FilterDropReason.Malformed));
        }
    }

    [Fact]
    public void Check_LengthFieldsLie_DroppedMalformed()
    {
        var packet = Packets.Tcp4(Peer4, 40000, Local4, 22);
        packet[3] += 1;
        Assert.Equal(FilterDropReason.Malformed, Filter().Check(packet, T0).DropReason);

        var tcpOffset = Packets.Tcp4(Peer4, 40000, Local4, 22);
        tcpOffset[20 + 12] = 0xF0;
        Assert.Equal(FilterDropReason.Malformed, Filter().Check(tcpOffset, T0).DropReason);

        var version = Packets.Tcp4(Peer4, 40000, Local4, 22);
        version[0] = 0x55;
        Assert.Equal(FilterDropReason.Malformed, Filter().Check(version, T0).DropReason);
    }

    [Fact]
    public void Check_RandomBytes_NeverThrows()
    {
        var random = new Random(42);
        var filter = Filter();
        var buffer = new byte[80];
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            buffer[0] = (byte)((random.Next(2) == 0 ? 0x40 : 0x60) | (buffer[0] & 0x0F));
            var length = random.Next(buffer.Length);
            filter.Check(buffer.AsSpan(0, length), T0);
            filter.TrackOutbound(buffer.AsSpan(0, length), T0);
        }
    }

    [Fact]
    public void Check_FragmentsOfAcceptedFirstFragment_Accepted()
    {
        var filter = Filter();
        var first = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, Packets.Transport(Packets.Udp, 40000, 53, extra: 16), id: 77, moreFragments: true);
        var later = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, new byte[24], id: 77, fragmentOffset: 3);
        Assert.True(filter.Check(first, T0).IsAccepted);
        Assert.Equal(FilterAcceptReason.FragmentOfAcceptedPacket, filter.Check(later, T0).AcceptReason);
    }

    [Fact]
    public void Check_FragmentWithoutAcceptedFirst_Dropped()
    {
        var filter = Filter();
        var denied = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, Packets.Transport(Packets.Udp, 40000, 54, extra: 16), id: 78, moreFragments: true);
        var later = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, new byte[24], id: 78, fragmentOffset: 3);
        Assert.False(filter.Check(denied, T0).IsAccepted);
        Assert.Equal(FilterDropReason.UnmatchedFragment, filter.Check(later, T0).DropReason);
    }

    [Fact]
    public void Check_FragmentAfterTimeout_Dropped()
    {
        var filter = Filter(new PacketFilterOptions { FragmentTimeout = TimeSpan.FromSeconds(5) });
        var first = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, Packets.Transport(Packets.Udp, 40000, 53, extra: 16), id: 79, moreFragments: true);
        var later = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Udp, new byte[24], id: 79, fragmentOffset: 3);
        filter.Check(first, T0);
        Assert.False(filter.Check(later, T0 + TimeSpan.FromSeconds(6)).IsAccepted);
    }

    [Fact]
    public void Check_OverlappingTinyFragment_DroppedMalformed()
    {
        var tiny = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Tcp, new byte[24], id: 80, fragmentOffset: 1);
        Assert.Equal(FilterDropReason.Malformed, Filter().Check(tiny, T0).DropReason);
    }

    [Fact]
    public void Check_FirstFragmentWithTruncatedTransportHeader_DroppedMalformed()
    {
        var first = Packets.V4(IPAddress.Parse(Peer4), IPAddress.Parse(Local4), Packets.Tcp, new byte[8], id: 81, moreFragments: true);
        Assert.Equal(FilterDropReason.Malformed, Filter().Check(first, T0).DropReason);
    }

    [Fact]
    public void Check_IPv6Fragments_FollowFirstFragment()
    {
        var filter = Filter();
        var src = IPAddress.Parse(Peer6);
        var dst = IPAddress.Parse(Local6);
        var first = Packets.V6(src, dst, Packets.Tcp, Packets.Transport(Packets.Tcp, 40000, 22, extra: 16), fragmentId: 9, moreFragments: true);
        var later = Packets.V6(src, dst, Packets.Tcp, new byte[16], fragmentId: 9, fragmentOffset: 5);
        var unrelated = Packets.V6(src, dst, Packets.Tcp, new byte[16], fragmentId: 10, fragmentOffset: 5);
        Assert.True(filter.Check(first, T0).IsAccepted);
        Assert.True(filter.Check(later, T0).IsAccepted);
        Assert.Equal(FilterDropReason.UnmatchedFragment, filter.Check(unrelated, T0).DropReason);
    }

    [Fact]
    public void Check_IPv6FirstFragmentOfDeniedPort_Dropped()
    {
        var first = Packets.V6(IPAddress.Parse(Peer6), IPAddress.Parse(Local6), Packets.Tcp, Packets.Transport(Packets.Tcp, 40000, 23), fragmentId: 11, moreFragments: true);
        Assert.False(Filter().Check(first, T0).IsAccepted);
    }

    [Fact]
    public void Check_Drops_CountedByReasonAndLogRateLimited()
    {
        var logs = new List<FilterDropLog>();
        var filter = Filter(new PacketFilterOptions { DropLog = logs.Add, DropLogInterval = TimeSpan.FromSeconds(1) });
        var denied = Packets.Tcp4(Stranger4, 1, Local4, 22);
        for (var i = 0; i < 100; i++)
        {
            filter.Check(denied, T0 + TimeSpan.FromMilliseconds(i));
        }

        filter.Check(denied, T0 + TimeSpan.FromSeconds(2));
        Assert.Equal(101, filter.GetDropCount(FilterDropReason.PolicyDenied));
        Assert.Equal(2, logs.Count);
        Assert.Equal(99, logs[1].SuppressedSinceLast);
        Assert.Contains("100.64.0.9", logs[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_HotPath_AllocatesNothing()
    {
        var filter = Filter(new PacketFilterOptions { DropLog = static _ => { } });
        var allowed = Packets.Tcp4(Peer4, 40000, Local4, 22);
        var denied = Packets.Tcp4(Stranger4, 40000, Local4, 22);
        var v6 = Packets.Build(Peer6, Local6, Packets.Udp, Packets.Transport(Packets.Udp, 1, 53));
        var outbound = Packets.Tcp4(Local4, 50000, Stranger4, 443);
        var reply = Packets.Tcp4(Stranger4, 443, Local4, 50000);
        for (var i = 0; i < 100; i++)
        {
            Run(i);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Run(i);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Run(int i)
        {
            var now = T0 + TimeSpan.FromMilliseconds(i);
            filter.Check(allowed, now);
            filter.Check(denied, now);
            filter.Check(v6, now);
            filter.TrackOutbound(outbound, now);
            filter.Check(reply, now);
            filter.Check(allowed.AsSpan(0, 10), now);
        }
    }
}
