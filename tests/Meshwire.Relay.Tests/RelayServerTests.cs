using System.Buffers.Binary;
using System.Net;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;

namespace Meshwire.Relay.Tests;

public sealed class RelayServerTests
{
    [Fact]
    public async Task SendPacket_TwoClients_PacketArrivesFromSender()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        await using var bob = await RelayLab.ConnectAsync(relay);
        await RelayLab.EventuallyAsync(() => relay.Server.ClientCount == 2, "two clients");

        byte[] packet = [0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
        Assert.True(alice.TrySend(bob.PublicKey, packet));
        var buffer = new byte[2048];
        var message = await RelayLab.ReceiveKindAsync(bob, buffer, RelayMessageKind.Packet);
        Assert.Equal(alice.PublicKey, message.Peer);
        Assert.Equal(packet, buffer[..message.Length]);

        Assert.True(await bob.SendAsync(alice.PublicKey, new byte[1400]));
        message = await RelayLab.ReceiveKindAsync(alice, buffer, RelayMessageKind.Packet);
        Assert.Equal((bob.PublicKey, 1400), (message.Peer, message.Length));
        Assert.Equal(2, relay.Server.Metrics.PacketsRelayed);
        Assert.Equal(1407, relay.Server.Metrics.BytesRelayed);
    }

    [Fact]
    public async Task SendPacket_UnknownDestination_DropCountedAndPeerGoneBack()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        var nobody = RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey());
        Assert.True(alice.TrySend(nobody, [1, 2, 3]));
        var message = await RelayLab.ReceiveKindAsync(alice, new byte[64], RelayMessageKind.PeerGone);
        Assert.Equal((nobody, PeerGoneReason.NotHere), (message.Peer, message.GoneReason));
        Assert.Equal(1, relay.Server.Metrics.Drops(RelayDropReason.UnknownDestination));
    }

    [Fact]
    public async Task Handshake_Garbage_ClosesOnlyThatConnection()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        await using var bob = await RelayLab.ConnectAsync(relay);

        await using var raw = await RelayLab.RawUpgradeAsync(relay);
        await raw.WriteAsync("this is not a relay frame at all, just noise 0123456789"u8.ToArray());
        Assert.True(await RelayLab.ClosedByPeerAsync(raw));
        Assert.Equal(1, relay.Server.Metrics.HandshakeFailures);

        Assert.True(alice.TrySend(bob.PublicKey, [42]));
        var message = await RelayLab.ReceiveKindAsync(bob, new byte[64], RelayMessageKind.Packet);
        Assert.Equal(alice.PublicKey, message.Peer);
    }

    [Fact]
    public async Task Frames_OversizedAfterHandshake_ClosesOnlyThatConnection()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        await using var bob = await RelayLab.ConnectAsync(relay);
        await using var mallory = await RelayLab.ConnectAsync(relay);
        await RelayLab.EventuallyAsync(() => relay.Server.ClientCount == 3, "three clients");

        // Mallory's own frames go through its send queue, so write an oversized header the way a hostile client would:
        // a SendPacket whose length field claims 4 GiB.
        var evil = new byte[RelayProtocol.FrameHeaderLength];
        evil[0] = (byte)FrameType.SendPacket;
        BinaryPrimitives.WriteUInt32BigEndian(evil.AsSpan(1), uint.MaxValue);
        await using var raw = await HandshakenRawAsync(relay);
        await raw.WriteAsync(evil);
        Assert.True(await RelayLab.ClosedByPeerAsync(raw));
        Assert.True(relay.Server.Metrics.Drops(RelayDropReason.BadFrame) >= 1);

        Assert.True(alice.TrySend(bob.PublicKey, [7]));
        Assert.Equal(alice.PublicKey, (await RelayLab.ReceiveKindAsync(bob, new byte[64], RelayMessageKind.Packet)).Peer);
        Assert.True(mallory.IsConnected);
    }

    [Fact]
    public async Task Frames_MalformedSendPacket_ClosesThatConnection()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var raw = await HandshakenRawAsync(relay);
        var shortFrame = new byte[RelayProtocol.FrameHeaderLength + 3];
        RelayFrames.WriteHeader(shortFrame, FrameType.SendPacket, 3);
        await raw.WriteAsync(shortFrame);
        Assert.True(await RelayLab.ClosedByPeerAsync(raw));
    }

    [Fact]
    public async Task ForwardPacket_FromOrdinaryClient_ClosesConnection()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var raw = await HandshakenRawAsync(relay);
        var frame = new byte[RelayFrames.ForwardPacketLength(1)];
        RelayFrames.WriteForwardPacket(frame, default, default, [1]);
        await raw.WriteAsync(frame);
        Assert.True(await RelayLab.ClosedByPeerAsync(raw));
    }

    [Fact]
    public async Task SendQueue_ReceiverNeverReads_DropsQueueFullAndSenderKeepsWorking()
    {
        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { SendQueueCapacity = 4 });
        await using var sender = await RelayLab.ConnectAsync(relay);
        await using var other = await RelayLab.ConnectAsync(relay);
        var stalled = await HandshakenRawAsync(relay, out var stalledKey);
        await using var stalledOwned = stalled;
        await RelayLab.EventuallyAsync(() => relay.Server.ClientCount == 3, "three clients");

        // 64 KB packets fill the socket buffers of the stalled client quickly; then its queue of 4 overflows.
        var big = new byte[RelayProtocol.MaxPacketSize];
        for (var i = 0; i < 400 && relay.Server.Metrics.Drops(RelayDropReason.QueueFull) == 0; i++)
        {
            await sender.SendAsync(stalledKey, big);
            if (i % 16 == 0)
            {
                await Task.Delay(5);
            }
        }

        await RelayLab.EventuallyAsync(() => relay.Server.Metrics.Drops(RelayDropReason.QueueFull) > 0, "queue_full drops");
        Assert.True(sender.TrySend(other.PublicKey, [9]));
        Assert.Equal(sender.PublicKey, (await RelayLab.ReceiveKindAsync(other, new byte[64], RelayMessageKind.Packet)).Peer);
    }

    [Fact]
    public async Task SendPacket_AboveRateLimit_DroppedAsRateLimited()
    {
        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { RateLimitBytesPerSecond = 1000, RateLimitBurstBytes = 2000 });
        await using var alice = await RelayLab.ConnectAsync(relay);
        await using var bob = await RelayLab.ConnectAsync(relay);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(await alice.SendAsync(bob.PublicKey, new byte[500]));
        }

        await RelayLab.EventuallyAsync(() => relay.Server.Metrics.Drops(RelayDropReason.RateLimited) >= 5, "rate_limited drops");
        Assert.InRange(relay.Server.Metrics.PacketsRelayed, 4, 5);
    }

    [Fact]
    public async Task Metrics_AfterTraffic_PrometheusText()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var alice = await RelayLab.ConnectAsync(relay);
        alice.TrySend(RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey()), [1]);
        await RelayLab.EventuallyAsync(() => relay.Server.Metrics.Drops(RelayDropReason.UnknownDestination) == 1, "drop");

        using var http = new HttpClient();
        var text = await http.GetStringAsync(new Uri(relay.Url, "/metrics"));
        Assert.Contains("# TYPE meshwire_relay_connections gauge\nmeshwire_relay_connections 1\n", text);
        Assert.Contains("meshwire_relay_drops_total{reason=\"unknown_destination\"} 1\n", text);
        Assert.Contains("meshwire_relay_bytes_relayed_total 0\n", text);
        Assert.Equal("ok\n", await http.GetStringAsync(new Uri(relay.Url, "/healthz")));
    }

    [Fact]
    public async Task Get_WithoutUpgrade_426()
    {
        await using var relay = await RelayLab.StartAsync();
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri(relay.Url, "/relay"));
        Assert.Equal(HttpStatusCode.UpgradeRequired, response.StatusCode);
    }

    [Fact]
    public async Task Connect_SameKeyTwice_NewestWins()
    {
        await using var relay = await RelayLab.StartAsync();
        var key = RelayKeys.GenerateNodeKey();
        await using var first = await RelayLab.ConnectAsync(relay, key);
        await using var second = await RelayLab.ConnectAsync(relay, key);
        var message = await RelayLab.ReceiveKindAsync(first, new byte[64], RelayMessageKind.Disconnected);
        Assert.Equal(RelayMessageKind.Disconnected, message.Kind);
        Assert.Equal(1, relay.Server.ClientCount);
    }

    private static Task<Stream> HandshakenRawAsync(Meshwire.RelayHost.RelayHostApp relay) => HandshakenRawAsync(relay, out _);

    // A client that completes the handshake by hand, then does whatever the test writes (or never reads).
    private static async Task<Stream> HandshakenRawAsyncCore(Meshwire.RelayHost.RelayHostApp relay, Core.NodePrivateKey key)
    {
        var stream = await RelayLab.RawUpgradeAsync(relay);
        var header = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerKeyPayloadLength];
        await stream.ReadExactlyAsync(header);
        Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(header, out _, out var payload, out _));
        Assert.True(RelayFrames.TryParseServerKey(payload, out var serverKey, out var challenge));
        var info = new byte[ClientProof.FrameLength];
        ClientProof.WriteClientInfo(info, key, serverKey, challenge, null);
        await stream.WriteAsync(info);
        var serverInfo = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerInfoPayloadLength];
        await stream.ReadExactlyAsync(serverInfo);
        Assert.Equal((byte)FrameType.ServerInfo, serverInfo[0]);
        return stream;
    }

    private static Task<Stream> HandshakenRawAsync(Meshwire.RelayHost.RelayHostApp relay, out Core.NodePublicKey key)
    {
        var privateKey = RelayKeys.GenerateNodeKey();
        key = RelayKeys.PublicKeyOf(privateKey);
        return HandshakenRawAsyncCore(relay, privateKey);
    }
}
