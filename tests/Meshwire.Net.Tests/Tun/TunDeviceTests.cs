using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meshwire.Net.Tun;

namespace Meshwire.Net.Tests.Tun;

/// <summary>
/// Real TUN interfaces named mwtun&lt;random&gt; with a 10.213.x.0/24 address; traffic only to that subnet, which
/// routes into the interface itself. Skipped unless root with /dev/net/tun.
/// </summary>
public sealed class TunDeviceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static bool CanRun => Environment.UserName == "root" && File.Exists("/dev/net/tun");

    private static string UniqueName() => "mwtun" + Random.Shared.Next(0, 1 << 24).ToString("x6", System.Globalization.CultureInfo.InvariantCulture);

    private static void Ip(params string[] arguments)
    {
        var start = new ProcessStartInfo("ip") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"ip {string.Join(' ', arguments)}: {error}");
    }

    private static bool InterfaceExists(string name) => Directory.Exists($"/sys/class/net/{name}");

    [Fact]
    public void Create_SingleQueue_HasNameIndexAndDefaultMtu()
    {
        if (!CanRun)
        {
            return;
        }

        var name = UniqueName();
        using (var device = TunDevice.Create(name))
        {
            Assert.Equal(name, device.Name);
            Assert.True(device.IfIndex > 0);
            Assert.Equal(1, device.QueueCount);
            Assert.Equal(TunDevice.DefaultMtu, device.Mtu);
            Assert.True(InterfaceExists(name));
        }

        Assert.False(InterfaceExists(name));
    }

    [Fact]
    public void Mtu_Set_ReadsBack()
    {
        if (!CanRun)
        {
            return;
        }

        using var device = TunDevice.Create(UniqueName());

        device.Mtu = 1280;

        Assert.Equal(1280, device.Mtu);
    }

    [Fact]
    public void Create_MultiQueue_OpensEveryQueue()
    {
        if (!CanRun)
        {
            return;
        }

        using var device = TunDevice.Create(UniqueName(), queues: 3);

        Assert.Equal(3, device.QueueCount);
        Assert.NotSame(device.Queue(0), device.Queue(2));
        var flags = Convert.ToInt32(File.ReadAllText($"/sys/class/net/{device.Name}/tun_flags").Trim(), 16);
        Assert.NotEqual(0, flags & 0x100);
    }

    [Fact]
    public async Task ReadAndWrite_UdpThroughInterface_ReachesBothSides()
    {
        if (!CanRun)
        {
            return;
        }

        var subnet = Random.Shared.Next(1, 255);
        var local = IPAddress.Parse($"10.213.{subnet}.1");
        var remote = IPAddress.Parse($"10.213.{subnet}.2");
        using var device = TunDevice.Create(UniqueName());
        Ip("addr", "add", $"{local}/24", "dev", device.Name);
        Ip("link", "set", device.Name, "up");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(local, 0));
        var localPort = ((IPEndPoint)socket.LocalEndPoint!).Port;

        // Outbound: the kernel routes a datagram for the subnet into the TUN, where the queue reads the IPv4 packet.
        socket.SendTo("ping"u8.ToArray(), new IPEndPoint(remote, 9999));
        var packet = await Task.Run(() =>
        {
            var buffer = new byte[2000];
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var n = device.Queue(0).Read(buffer);
                if (n >= 32 && buffer[0] >> 4 == 4 && buffer[9] == 17 && buffer.AsSpan(16, 4).SequenceEqual(remote.GetAddressBytes()))
                {
                    return buffer[..n];
                }
            }

            return [];
        }).WaitAsync(Timeout);
        Assert.Equal(local.GetAddressBytes(), packet[12..16]);
        Assert.Equal(9999, BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(22)));
        Assert.Equal("ping"u8.ToArray(), packet[28..]);

        // Inbound: a packet written to the queue is delivered to the local socket.
        Assert.True(device.Queue(0).Write(BuildUdp(remote, 9999, local, (ushort)localPort, "pong"u8)));
        var received = new byte[100];
        var result = await socket.ReceiveFromAsync(received, new IPEndPoint(IPAddress.Any, 0)).WaitAsync(Timeout);
        Assert.Equal("pong"u8.ToArray(), received[..result.ReceivedBytes]);
        Assert.Equal(new IPEndPoint(remote, 9999), result.RemoteEndPoint);
    }

    [Fact]
    public async Task Dispose_UnblocksBlockedRead()
    {
        if (!CanRun)
        {
            return;
        }

        var device = TunDevice.Create(UniqueName());
        var reading = Task.Run(() => device.Queue(0).Read(new byte[2000]));
        await Task.Delay(100);

        device.Dispose();

        Assert.Equal(0, await reading.WaitAsync(Timeout));
        Assert.False(device.IsRemoved);
    }

    [Fact]
    public async Task InterfaceDeleted_ReadReturnsZeroAndRemovedCompletes()
    {
        if (!CanRun)
        {
            return;
        }

        using var device = TunDevice.Create(UniqueName());
        var reading = Task.Run(() => device.Queue(0).Read(new byte[2000]));
        await Task.Delay(100);

        Ip("link", "del", device.Name);

        Assert.Equal(0, await reading.WaitAsync(Timeout));
        await device.Removed.WaitAsync(Timeout);
        Assert.True(device.IsRemoved);
        Assert.False(device.Queue(0).Write(BuildUdp(IPAddress.Loopback, 1, IPAddress.Loopback, 1, [])));
    }

    [Fact]
    public async Task ReadBatch_WithOffset_PlacesPacketsAfterHeadroom()
    {
        if (!CanRun)
        {
            return;
        }

        var subnet = Random.Shared.Next(1, 255);
        var local = IPAddress.Parse($"10.213.{subnet}.1");
        using var device = TunDevice.Create(UniqueName());
        Ip("addr", "add", $"{local}/24", "dev", device.Name);
        Ip("link", "set", device.Name, "up");
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(local, 0));
        for (var i = 0; i < 3; i++)
        {
            socket.SendTo(new byte[10 + i], new IPEndPoint(IPAddress.Parse($"10.213.{subnet}.2"), 9999));
        }

        var batch = new Meshwire.Net.Udp.PacketBatch(8, 2048);
        var count = await Task.Run(() => device.Queue(0).ReadBatch(batch, offset: 16)).WaitAsync(Timeout);

        Assert.InRange(count, 1, 8);
        for (var i = 0; i < count; i++)
        {
            Assert.InRange(batch.Lengths[i], 20, 2048 - 16);
            Assert.True(batch.Buffer(i)[16] >> 4 is 4 or 6);
        }

        Assert.Equal(count, device.Queue(0).WriteBatch(batch, count, offset: 16));
    }

    /// <summary>An IPv4/UDP packet with a valid header checksum and no UDP checksum (allowed for IPv4).</summary>
    private static byte[] BuildUdp(IPAddress source, ushort sourcePort, IPAddress destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        var packet = new byte[28 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = 64;
        packet[9] = 17;
        source.GetAddressBytes().CopyTo(packet, 12);
        destination.GetAddressBytes().CopyTo(packet, 16);
        uint sum = 0;
        for (var i = 0; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(packet.AsSpan(i));
        }

        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }

        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), (ushort)~sum);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(20), sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(22), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + payload.Length));
        payload.CopyTo(packet.AsSpan(28));
        return packet;
    }
}
