using System.Buffers.Binary;
using System.Net;
using Meshwire.Agent.Filtering;
using Meshwire.Protocol;
using Meshwire.Testing;

namespace Meshwire.Agent.Tests.Filtering;

public sealed class FilterGateTests
{
    // A monotonic "now" weeks into a host's uptime, not a clock at zero.
    private static readonly TimeSpan Now = UptimeClock.WeeksOfUptime;

    private static readonly WireFilterRule AllowAlphaTcp22 = new()
    {
        Sources = ["100.64.0.1/32"],
        Destinations = [new WireFilterDestination("100.64.0.2/32", 22, 22)],
        Protocols = [6],
    };

    [Fact]
    public void Inbound_BeforeAnyMap_DropsNewConnections()
    {
        var gate = new FilterGate();
        Assert.False(gate.Inbound(Tcp("100.64.0.1", 40000, "100.64.0.2", 22, syn: true), Now));
    }

    [Fact]
    public void Inbound_RuleAllowsSourceAndPort_Delivers()
    {
        var gate = new FilterGate();
        Assert.True(gate.Update([AllowAlphaTcp22]));
        Assert.True(gate.Inbound(Tcp("100.64.0.1", 40000, "100.64.0.2", 22, syn: true), Now));
    }

    [Theory]
    [InlineData("100.64.0.3", 22)]
    [InlineData("100.64.0.1", 23)]
    public void Inbound_OtherSourceOrPort_Drops(string source, int port)
    {
        var gate = new FilterGate();
        gate.Update([AllowAlphaTcp22]);
        Assert.False(gate.Inbound(Tcp(source, 40000, "100.64.0.2", (ushort)port, syn: true), Now));
    }

    [Fact]
    public void Inbound_ReplyToOwnOutboundFlow_DeliversWithoutARule()
    {
        var gate = new FilterGate();
        gate.Update([]);
        gate.Outbound(Tcp("100.64.0.2", 50000, "100.64.0.9", 80, syn: true), Now);
        Assert.True(gate.Inbound(Tcp("100.64.0.9", 80, "100.64.0.2", 50000, syn: false), Now));
        Assert.False(gate.Inbound(Tcp("100.64.0.9", 81, "100.64.0.2", 50000, syn: false), Now));
    }

    [Fact]
    public void Update_SameRules_KeepsTheFilterAndItsFlows()
    {
        var gate = new FilterGate();
        gate.Update([AllowAlphaTcp22]);
        var filter = gate.Current;
        Assert.False(gate.Update([AllowAlphaTcp22 with { }]));
        Assert.Same(filter, gate.Current);
    }

    [Fact]
    public void Update_PolicyRevoked_DropsFromThenOn()
    {
        var gate = new FilterGate();
        gate.Update([AllowAlphaTcp22]);
        Assert.True(gate.Update([]));
        Assert.False(gate.Inbound(Tcp("100.64.0.1", 40000, "100.64.0.2", 22, syn: true), Now));
    }

    [Theory]
    [InlineData("not-a-prefix", 22, 22, 6)]
    [InlineData("100.64.0.1/32", 22, 70000, 6)]
    [InlineData("100.64.0.1/32", 30, 22, 6)]
    [InlineData("100.64.0.1/32", 22, 22, 300)]
    public void Update_MalformedRule_ThrowsAndKeepsThePreviousFilter(string source, int first, int last, int protocol)
    {
        var gate = new FilterGate();
        gate.Update([AllowAlphaTcp22]);
        var before = gate.Current;
        var bad = new WireFilterRule { Sources = [source], Destinations = [new WireFilterDestination("100.64.0.2/32", first, last)], Protocols = [protocol] };
        Assert.Throws<FormatException>(() => gate.Update([bad]));
        Assert.Same(before, gate.Current);
        Assert.True(gate.Inbound(Tcp("100.64.0.1", 40000, "100.64.0.2", 22, syn: true), Now));
    }

    /// <summary>A minimal IPv4 TCP segment (checksums are not checked by the filter).</summary>
    private static byte[] Tcp(string source, ushort sourcePort, string destination, ushort destinationPort, bool syn)
    {
        var packet = new byte[40];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 40);
        packet[8] = 64;
        packet[9] = 6;
        IPAddress.Parse(source).TryWriteBytes(packet.AsSpan(12), out _);
        IPAddress.Parse(destination).TryWriteBytes(packet.AsSpan(16), out _);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), destinationPort);
        packet[32] = 0x50;
        packet[33] = syn ? (byte)0x02 : (byte)0x10;
        return packet;
    }
}
