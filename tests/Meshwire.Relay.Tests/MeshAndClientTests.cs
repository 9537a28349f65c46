using Meshwire.Protocol;
using System.Net;
using Meshwire.Core;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Meshwire.RelayHost;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Meshwire.Relay.Tests;

public sealed class MeshAndClientTests
{
    private static readonly RelayMeshKey MeshKey = new(Key32.FromSpan(Enumerable.Repeat((byte)0x5a, 32).ToArray()));

    [Fact]
    public async Task Mesh_ClientsOnTwoRelays_PacketForwardedOneHop()
    {
        await using var relayA = await RelayLab.StartAsync(RelayLab.Options with { MeshKey = MeshKey });
        await using var relayB = await RelayLab.StartAsync(RelayLab.Options with { MeshKey = MeshKey });
        relayA.Server.StartMesh([relayB.Url, relayA.Url], o => o with { MinReconnectDelay = TimeSpan.FromMilliseconds(50) });
        relayB.Server.StartMesh([relayA.Url], o => o with { MinReconnectDelay = TimeSpan.FromMilliseconds(50) });

        await using var alice = await RelayLab.ConnectAsync(relayA);
        await using var bob = await RelayLab.ConnectAsync(relayB);
        await RelayLab.EventuallyAsync(() => relayA.Server.MeshRouteCount == 1 && relayB.Server.MeshRouteCount == 1, "presence through the mesh");

        var buffer = new byte[2048];
        Assert.True(alice.TrySend(bob.PublicKey, [1, 2, 3]));
        var message = await RelayLab.ReceiveKindAsync(bob, buffer, RelayMessageKind.Packet);
        Assert.Equal((alice.PublicKey, 3), (message.Peer, message.Length));
        Assert.True(bob.TrySend(alice.PublicKey, [4, 5]));
        message = await RelayLab.ReceiveKindAsync(alice, buffer, RelayMessageKind.Packet);
        Assert.Equal((bob.PublicKey, 2), (message.Peer, message.Length));
        Assert.Equal(1, relayA.Server.Metrics.PacketsForwarded);
        Assert.Equal(1, relayB.Server.Metrics.PacketsForwarded);

        await bob.DisposeAsync();
        await RelayLab.EventuallyAsync(() => relayA.Server.MeshRouteCount == 0, "bob gone from relay A's routes");
    }

    [Fact]
    public async Task Mesh_WrongMeshKey_Refused()
    {
        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { MeshKey = MeshKey });
        var wrong = new RelayMeshKey(Key32.FromSpan(Enumerable.Repeat((byte)1, 32).ToArray()));
        await using var intruder = new RelayClient(relay.Url, RelayKeys.GenerateNodeKey(), RelayLab.FastReconnect with { MeshKey = wrong, WatchPeers = true });
        await Assert.ThrowsAsync<RelayConnectException>(() => intruder.ConnectAsync());
        Assert.Equal(1, relay.Server.Metrics.NotAdmitted);
    }

    [Fact]
    public async Task VerifyClients_UnknownNode_RefusedKnownAdmitted()
    {
        var known = RelayKeys.GenerateNodeKey();
        var requests = 0;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var control = builder.Build();
        control.MapGet("/api/v1/relay/verify", (string nodekey) =>
        {
            Interlocked.Increment(ref requests);
            return nodekey == RelayKeys.PublicKeyOf(known).Value.ToHex() ? Results.Ok() : Results.NotFound();
        });
        await control.StartAsync();
        var controlUrl = new Uri(control.Urls.First());

        await using var relay = await RelayLab.StartAsync(RelayLab.Options with { VerifyClients = controlUrl });
        await using var stranger = new RelayClient(relay.Url, RelayKeys.GenerateNodeKey(), RelayLab.FastReconnect);
        await Assert.ThrowsAsync<RelayConnectException>(() => stranger.ConnectAsync());

        await using var member = await RelayLab.ConnectAsync(relay, known);
        await using var again = await RelayLab.ConnectAsync(relay, known);
        Assert.Equal(2, requests);
        Assert.Equal(1, relay.Server.Metrics.NotAdmitted);
    }

    [Fact]
    public async Task Receive_ServerRestarts_ReconnectsWithBackoff()
    {
        var relay = await RelayLab.StartAsync();
        var port = relay.Url.Port;
        await using var client = await RelayLab.ConnectAsync(relay);
        var buffer = new byte[64];

        await relay.DisposeAsync();
        var receiving = client.ReceiveAsync(buffer).AsTask();
        Assert.Equal(RelayMessageKind.Disconnected, (await receiving.WaitAsync(RelayLab.Timeout)).Kind);

        // Nobody listens for a while: the client keeps retrying with growing delays.
        var reconnect = client.ReceiveAsync(buffer).AsTask();
        await Task.Delay(300);
        Assert.False(reconnect.IsCompleted);

        await using var restarted = await RelayLab.StartAsync(RelayLab.Options with { Listen = new IPEndPoint(IPAddress.Loopback, port) });
        Assert.Equal(RelayMessageKind.Connected, (await reconnect.WaitAsync(RelayLab.Timeout)).Kind);
        Assert.Equal(2, client.Connections);
        Assert.Equal(restarted.Server.PublicKey, client.ServerKey);
        await RelayLab.EventuallyAsync(() => restarted.Server.IsConnected(client.PublicKey), "registered again");
    }

    [Fact]
    public async Task PingAsync_WhileReceiving_MeasuresRoundTrip()
    {
        await using var relay = await RelayLab.StartAsync();
        await using var client = await RelayLab.ConnectAsync(relay);
        using var stop = new CancellationTokenSource();
        var pump = Task.Run(async () =>
        {
            var buffer = new byte[64];
            while (!stop.IsCancellationRequested)
            {
                await client.ReceiveAsync(buffer, stop.Token);
            }
        });

        var rtt = await client.PingAsync().WaitAsync(RelayLab.Timeout);
        Assert.InRange(rtt, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pump);
    }

    [Fact]
    public async Task RankRegionsAsync_OneRegionDown_RanksTheOther()
    {
        await using var relay = await RelayLab.StartAsync();
        var map = RelayMap.Parse($$$"""
            {"regions": [
              {"regionId": 1, "code": "up", "nodes": [{"name": "1a", "hostName": "127.0.0.1", "port": {{{relay.Url.Port}}}, "insecureForTests": true}]},
              {"regionId": 2, "code": "down", "nodes": [{"name": "2a", "hostName": "127.0.0.1", "port": 9, "insecureForTests": true}]}
            ]}
            """);
        Assert.Equal(relay.Url, map.Regions[0].Nodes[0].Url);

        using var http = new HttpClient();
        var ranked = await RelayLatencyProbe.RankRegionsAsync(http, map, TimeSpan.FromSeconds(2));
        var only = Assert.Single(ranked);
        Assert.Equal((1, "1a"), (only.RegionId, only.NodeName));
        Assert.True(only.RoundTrip > TimeSpan.Zero);
    }

    [Fact]
    public void RelayMap_Json_RoundTrips()
    {
        var map = new RelayMap
        {
            Regions = [new RelayRegion { RegionId = 7, Code = "par", Nodes = [new RelayNode { Name = "7a", HostName = "relay.example.net" }] }],
        };
        var json = map.ToJson();
        Assert.Contains("\"code\":\"par\"", json);
        Assert.DoesNotContain("url", json, StringComparison.OrdinalIgnoreCase);
        var back = RelayMap.Parse(json);
        Assert.Equal(new Uri("https://relay.example.net/"), back.Regions[0].Nodes[0].Url);
    }

    [Fact]
    public async Task TrySend_NotConnected_False()
    {
        await using var client = new RelayClient(new Uri("http://127.0.0.1:9/"), RelayKeys.GenerateNodeKey());
        Assert.False(client.TrySend(client.PublicKey, [1]));
        Assert.False(client.IsConnected);
    }
}
