using Meshwire.Control.Channel;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.Testing;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests;

/// <summary>Rekey in place on the control channel (docs/protocol.md "Channel"), on the server's fake clock.</summary>
public sealed class RekeyTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The uptimes the rekey test starts at: weeks (the default), and 5 minutes before each overflow boundary of a
    /// timestamp conversion, so the four rekeys cross it. Before MonotonicClock, a host up for more than 922 s
    /// refused every re-handshake after the wrap ("replayed or flooding initiation").
    /// </summary>
    public static TheoryData<double> Uptimes()
    {
        var data = new TheoryData<double> { UptimeClock.WeeksOfUptime.TotalSeconds };
        foreach (var boundary in UptimeClock.Boundaries)
        {
            data.Add(Math.Max(0, (boundary - TimeSpan.FromMinutes(5)).TotalSeconds));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Uptimes))]
    public async Task StreamMap_SeveralRekeysPastChannelLifetime_DeltasKeepArrivingWithoutNewFullMap(double uptimeSeconds)
    {
        await using var server = await TestServer.StartAsync(uptime: TimeSpan.FromSeconds(uptimeSeconds));
        var key = await server.AuthKeyAsync(reusable: true);
        var node = await server.JoinAsync("alpha", key, clientTime: server.Time);
        await using var watch = new StreamWatcher(node);
        await watch.WaitAsync(v => v.Peers.Count == 0);

        for (var round = 1; round <= 4; round++)
        {
            // 4 × 121 s: the channel outlives ChannelLifetime several times over, its keys never do.
            server.Time.Advance(ChannelConstants.RekeyAfterTime + TimeSpan.FromSeconds(1));
            await WaitUntilAsync(() => node.Client.KeyGeneration == round);
            await server.JoinAsync($"peer{round}", key);
            await watch.WaitAsync(v => v.Peers.Count == round);
        }

        await node.Client.UpdateAsync(node.MapRequest("192.0.2.7:41641"));
        await watch.WaitAsync(v => v.Self.Endpoints.Contains("192.0.2.7:41641"));
        Assert.False(watch.Completion.IsCompleted);
        Assert.Null(watch.Error);
        Assert.Single(watch.Messages.OfType<MapFull>());
    }

    [Fact]
    public async Task Channel_NodeNeverRekeys_ClosedAtChannelLifetime()
    {
        await using var server = await TestServer.StartAsync();
        var node = await server.JoinAsync("alpha");
        await using var watch = new StreamWatcher(node);
        await watch.WaitAsync(v => true);

        server.Time.Advance(ChannelConstants.ChannelLifetime - TimeSpan.FromSeconds(1));
        await node.Client.UpdateAsync(node.MapRequest("192.0.2.7:41641"));
        await watch.WaitAsync(v => v.Self.Endpoints.Contains("192.0.2.7:41641"));

        server.Time.Advance(TimeSpan.FromSeconds(2));
        await watch.Completion.WaitAsync(Wait);
        Assert.Null(watch.Error);
    }

    [Fact]
    public async Task Rekey_InitiationWithAnotherMachineKey_ChannelClosed()
    {
        await using var server = await TestServer.StartAsync();
        var node = await server.JoinAsync("alpha");
        await using var watch = new StreamWatcher(node);
        await watch.WaitAsync(v => true);

        var stranger = new Handshake(new LocalIdentity(new NodePrivateKey(ControlClient.GenerateMachineKey().Value)), new NodePublicKey(node.Client.ServerKey.Value), PresharedKey.None);
        await node.Client.Frames.SendHandshakeAsync(Initiation(stranger, server.Time.GetUtcNow(), server), CancellationToken.None);

        // The clock does not move: only the refused rekey can end the channel.
        await watch.Completion.WaitAsync(Wait);
        Assert.Equal(0, node.Client.KeyGeneration);
    }

    [Fact]
    public async Task Rekey_ReplayedOlderTimestamp_ChannelClosed()
    {
        await using var server = await TestServer.StartAsync();
        var machine = ControlClient.GenerateMachineKey();
        var node = await server.JoinAsync("alpha", machineKey: machine, clientTime: server.Time);
        await using var watch = new StreamWatcher(node);
        await watch.WaitAsync(v => true);

        // Same machine key, past the rate limit, but a timestamp older than the channel's own handshake (what a
        // recorded initiation carries).
        server.Time.Advance(TimeSpan.FromSeconds(1));
        var same = new Handshake(new LocalIdentity(new NodePrivateKey(machine.Value)), new NodePublicKey(node.Client.ServerKey.Value), PresharedKey.None);
        await node.Client.Frames.SendHandshakeAsync(Initiation(same, server.Time.GetUtcNow() - TimeSpan.FromSeconds(2), server), CancellationToken.None);

        await watch.Completion.WaitAsync(Wait);
        Assert.Equal(0, node.Client.KeyGeneration);
    }

    [Fact]
    public async Task Rekey_RequestSealedWithOldKeysAfterServerSwitched_StillOpens()
    {
        await using var server = await TestServer.StartAsync();
        // The node on the server's fake clock too: its handshake timestamps and the server's rate limit then both move
        // with Advance, not with however much real time the machine happens to take between the two handshakes.
        var node = await server.JoinAsync("alpha", clientTime: server.Time);
        server.Time.Advance(TimeSpan.FromSeconds(1)); // past the 20 ms initiation rate limit of the machine's handshake

        await node.Client.RekeyAsync();
        // This request leaves before the client has read the response: sealed with the old keys, it reaches a
        // server that already seals with the new ones and opens it with the previous keypair.
        var first = await node.Client.GetMapAsync(node.MapRequest("192.0.2.1:41641"));
        Assert.Equal(1, node.Client.KeyGeneration);
        Assert.Equal(["192.0.2.1:41641"], first.Self.Endpoints);

        // Under the new keys both ways; the server has dropped the old ones.
        var second = await node.Client.GetMapAsync(node.MapRequest("192.0.2.2:41641"));
        Assert.Equal(["192.0.2.2:41641"], second.Self.Endpoints);
    }

    private static byte[] Initiation(Handshake handshake, DateTimeOffset wallClock, TestServer server)
    {
        var initiation = new byte[MessageSize.Initiation];
        Assert.True(handshake.TryCreateInitiation(7, wallClock, server.Time.GetElapsedTime(0), initiation));
        return initiation;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
