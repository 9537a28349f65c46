using System.Net;
using System.Net.Sockets;
using Meshwire.Core;
using Meshwire.Net.Udp;

namespace Meshwire.Net.Tests.Udp;

public sealed class UdpTransportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static EndpointAddress Loopback(string address, ushort port) => EndpointAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse(address), port));

    /// <summary>Receives until <paramref name="expected"/> datagrams arrived (a batch may come in several calls).</summary>
    private static List<(byte[] Data, EndpointAddress From)> ReceiveAll(UdpTransport transport, int expected)
    {
        var received = new List<(byte[], EndpointAddress)>();
        var task = Task.Run(() =>
        {
            var batch = new PacketBatch(8, 2048);
            while (received.Count < expected)
            {
                var n = transport.ReceiveBatch(batch);
                if (n == 0)
                {
                    return;
                }

                for (var i = 0; i < n; i++)
                {
                    received.Add((batch.Packet(i).ToArray(), batch.Endpoints[i]));
                }
            }
        });
        Assert.True(task.Wait(Timeout), "datagrams did not arrive");
        return received;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public void SendBatch_ReceiveBatch_DeliversEveryDatagramWithSource(string loopback)
    {
        using var sender = UdpTransport.Open(0);
        using var receiver = UdpTransport.Open(0);
        var batch = new PacketBatch(4, 1500);
        for (var i = 0; i < 4; i++)
        {
            batch.Buffer(i).Fill((byte)(i + 1));
            batch.Lengths[i] = 100 + i;
            batch.Endpoints[i] = Loopback(loopback, receiver.LocalPort);
        }

        Assert.Equal(4, sender.SendBatch(batch, 4));

        var received = ReceiveAll(receiver, 4);
        Assert.Equal(4, received.Count);
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(Enumerable.Repeat((byte)(i + 1), 100 + i), received[i].Data);
            Assert.Equal(Loopback(loopback, sender.LocalPort), received[i].From);
        }

        Assert.Equal(loopback == "127.0.0.1", received[0].From.IsIPv4);
    }

    [Fact]
    public void Send_Single_ArrivesAtDualStackSocket()
    {
        using var sender = UdpTransport.Open(0);
        using var receiver = UdpTransport.Open(0);

        Assert.True(sender.Send("hello"u8, Loopback("127.0.0.1", receiver.LocalPort)));

        var (data, from) = Assert.Single(ReceiveAll(receiver, 1));
        Assert.Equal("hello"u8.ToArray(), data);
        Assert.Equal(sender.LocalPort, from.Port);
    }

    [Fact]
    public void ReceiveBatch_FromPlainSocket_SeesIPv4Source()
    {
        using var receiver = UdpTransport.Open(0);
        using var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        plain.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        plain.SendTo([1, 2, 3], new IPEndPoint(IPAddress.Loopback, receiver.LocalPort));

        var (data, from) = Assert.Single(ReceiveAll(receiver, 1));
        Assert.Equal([1, 2, 3], data);
        Assert.Equal(EndpointAddress.FromIPEndPoint((IPEndPoint)plain.LocalEndPoint!), from);
    }

    [Fact]
    public void ReceiveBatch_DatagramLargerThanSlot_ReportsLengthZero()
    {
        using var sender = UdpTransport.Open(0);
        using var receiver = UdpTransport.Open(0);
        sender.Send(new byte[300], Loopback("::1", receiver.LocalPort));

        var batch = new PacketBatch(1, 100);
        Assert.Equal(1, receiver.ReceiveBatch(batch));
        Assert.Equal(0, batch.Lengths[0]);
    }

    [Fact]
    public void Open_GivenPort_BindsIt()
    {
        using var probe = UdpTransport.Open(0);
        var port = probe.LocalPort;
        probe.Dispose();

        using var transport = UdpTransport.Open(port);

        Assert.Equal(port, transport.LocalPort);
    }

    [Fact]
    public async Task Dispose_UnblocksBlockedReceiver()
    {
        var transport = UdpTransport.Open(0);
        var receiving = Task.Run(() => transport.ReceiveBatch(new PacketBatch(2, 1500)));
        await Task.Delay(100);

        transport.Dispose();

        Assert.Equal(0, await receiving.WaitAsync(Timeout));
    }

    [Fact]
    public async Task Rebind_NewPort_BlockedReceiverMovesToNewSocket()
    {
        using var sender = UdpTransport.Open(0);
        using var receiver = UdpTransport.Open(0);
        var oldPort = receiver.LocalPort;
        var batch = new PacketBatch(1, 1500);
        var receiving = Task.Run(() => receiver.ReceiveBatch(batch));
        await Task.Delay(100);

        Assert.Equal(0, receiver.Rebind(0));
        Assert.NotEqual(oldPort, receiver.LocalPort);
        Assert.False(receiving.IsCompleted);
        sender.Send([42], Loopback("::1", receiver.LocalPort));

        Assert.Equal(1, await receiving.WaitAsync(Timeout));
        Assert.Equal(42, batch.Packet(0)[0]);
    }

    [Fact]
    public void Rebind_PortInUse_ReturnsEaddrinuseAndKeepsOldSocket()
    {
        using var other = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { DualMode = true };
        other.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        using var transport = UdpTransport.Open(0);
        var port = transport.LocalPort;

        Assert.Equal(-98, transport.Rebind((ushort)((IPEndPoint)other.LocalEndPoint!).Port));
        Assert.Equal(port, transport.LocalPort);
    }

    [Fact]
    public void Rebind_SamePort_IsNoOp()
    {
        using var transport = UdpTransport.Open(0);
        var port = transport.LocalPort;

        Assert.Equal(0, transport.Rebind(port));
        Assert.Equal(port, transport.LocalPort);
    }

    [Fact]
    public void SetFirewallMark_AsRoot_IsKept()
    {
        using var transport = UdpTransport.Open(0);

        var errno = transport.SetFirewallMark(0x51);

        if (Environment.UserName == "root")
        {
            Assert.Equal(0, errno);
            Assert.Equal(0x51u, transport.FirewallMark);
            Assert.Equal(0, transport.Rebind(0));
        }
        else
        {
            Assert.Equal(-1, errno);
        }
    }

    [Fact]
    public void SendBatch_AfterDispose_SendsNothing()
    {
        var transport = UdpTransport.Open(0);
        transport.Dispose();
        var batch = new PacketBatch(1, 10);
        batch.Endpoints[0] = Loopback("::1", 9);

        Assert.Equal(0, transport.SendBatch(batch, 1));
        Assert.False(transport.Send([1], Loopback("::1", 9)));
    }
}
