using Meshwire.Control.Channel;
using Meshwire.Control.Client;
using Meshwire.Control.Hosting;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.Testing;
using Meshwire.WireGuard.Noise;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Control.Tests;

/// <summary>
/// Growth without login is bounded: the handshake replay table, handshakes per source address, registrations per
/// source address and per auth key. Every clock is an <see cref="UptimeClock"/> (weeks of Linux uptime).
/// </summary>
public sealed class ChannelLimitTests
{
    [Fact]
    public async Task Respond_TenThousandThrowawayMachines_TableBoundedAndMemberReplayStillRefused()
    {
        await using var server = await TestServer.StartAsync();
        var handler = Handler(server, new HandshakeReplayTable(strangerCapacity: 1000));
        var serverKey = new NodePublicKey(server.Server.ServerKey.Key.Value);

        // A real machine handshakes, registers (a member now), and keeps its first initiation: what a replay would send.
        var real = new LocalIdentity(X25519Keys.GeneratePrivateKey());
        var recorded = Initiation(real, serverKey, server.Time);
        Assert.NotNull(Respond(handler, recorded));
        handler.Replay.Promote(new MachinePublicKey(real.PublicKey.Value));

        for (var i = 0; i < 10_000; i++)
        {
            server.Time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.NotNull(Respond(handler, Initiation(new LocalIdentity(X25519Keys.GeneratePrivateKey()), serverKey, server.Time)));
        }

        Assert.True(handler.Replay.Count <= 1001, $"{handler.Replay.Count} machines remembered");
        Assert.Null(Respond(handler, recorded));

        // The real machine's next handshake (a later timestamp) is still accepted.
        server.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.NotNull(Respond(handler, Initiation(real, serverKey, server.Time)));
    }

    [Fact]
    public async Task ReplayTable_StrangersAgeOut_MembersStay()
    {
        await using var server = await TestServer.StartAsync();
        var handler = Handler(server, new HandshakeReplayTable());
        var serverKey = new NodePublicKey(server.Server.ServerKey.Key.Value);
        var member = new LocalIdentity(X25519Keys.GeneratePrivateKey());
        var memberInitiation = Initiation(member, serverKey, server.Time);
        Assert.NotNull(Respond(handler, memberInitiation));
        handler.Replay.Promote(new MachinePublicKey(member.PublicKey.Value));
        for (var i = 0; i < 50; i++)
        {
            Assert.NotNull(Respond(handler, Initiation(new LocalIdentity(X25519Keys.GeneratePrivateKey()), serverKey, server.Time)));
        }

        Assert.Equal(51, handler.Replay.Count);
        server.Time.Advance(HandshakeReplayTable.StrangerHorizon + TimeSpan.FromSeconds(1));
        Assert.Null(Respond(handler, memberInitiation));

        Assert.Equal(1, handler.Replay.Count);
        Assert.True(handler.Replay.IsMember(new MachinePublicKey(member.PublicKey.Value)));
    }

    [Fact]
    public async Task Connect_OverHandshakeRate_RateLimitedWithRetryHintThenAdmitted()
    {
        await using var server = await TestServer.StartAsync(o => o.HandshakeRatePerSource = new RateLimit(PerMinute: 60, Burst: 3));
        for (var i = 0; i < 3; i++)
        {
            await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        }

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey()));
        Assert.Equal(ErrorCodes.RateLimited, e.Code);
        Assert.Equal(TimeSpan.FromSeconds(1), e.RetryAfter);

        server.Time.Advance(TimeSpan.FromSeconds(1));
        await using var admitted = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
    }

    [Fact]
    public async Task Register_SixtyFromOneSourceWithDefaults_BurstJoinsRestRateLimited()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            var defaults = new ControlOptions();
            o.HandshakeRatePerSource = defaults.HandshakeRatePerSource;
            o.RegistrationRatePerSource = defaults.RegistrationRatePerSource;
            o.RegistrationRatePerAuthKey = defaults.RegistrationRatePerAuthKey;
        });
        var authKey = await server.AuthKeyAsync(reusable: true);
        var joined = 0;
        var limited = new List<ControlProtocolException>();
        for (var i = 0; i < 60; i++)
        {
            await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
            try
            {
                await client.SendRegisterAsync(Proven(client, $"n{i}", authKey));
                joined++;
            }
            catch (ControlProtocolException e) when (e.Code == ErrorCodes.RateLimited)
            {
                limited.Add(e);
            }
        }

        Assert.Equal(new ControlOptions().RegistrationRatePerSource.Burst, joined);
        Assert.Equal(60 - joined, limited.Count);
        Assert.All(limited, e => Assert.True(e.RetryAfter >= TimeSpan.FromSeconds(1)));
        Assert.Equal(joined, (await server.Service.ListNodesAsync()).Count);
    }

    [Fact]
    public async Task Register_OverAuthKeyRate_RateLimitedThenAdmittedAfterRefill()
    {
        await using var server = await TestServer.StartAsync(o => o.RegistrationRatePerAuthKey = new RateLimit(PerMinute: 6, Burst: 2));
        var authKey = await server.AuthKeyAsync(reusable: true);
        var other = await server.AuthKeyAsync("bob", reusable: true);
        for (var i = 0; i < 2; i++)
        {
            await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
            Assert.True((await client.SendRegisterAsync(Proven(client, $"a{i}", authKey))).Authorized);
        }

        await using var third = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => third.SendRegisterAsync(Proven(third, "a2", authKey)));
        Assert.Equal((ErrorCodes.RateLimited, TimeSpan.FromSeconds(10)), (e.Code, e.RetryAfter));

        // Another key is not affected; the same channel registers once the bucket has a token again.
        await using var bobs = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        Assert.True((await bobs.SendRegisterAsync(Proven(bobs, "b0", other))).Authorized);
        server.Time.Advance(TimeSpan.FromSeconds(10));
        Assert.True((await third.SendRegisterAsync(Proven(third, "a2", authKey))).Authorized);
    }

    [Fact]
    public async Task Register_RenewalOfLiveNode_NeverRateLimited()
    {
        await using var server = await TestServer.StartAsync(o => o.RegistrationRatePerSource = new RateLimit(PerMinute: 1, Burst: 1));
        var node = await server.JoinAsync("a");
        for (var i = 0; i < 5; i++)
        {
            var renewed = await node.Client.RegisterAsync(new RegisterRequest { NodeKey = node.NodeKey, Hostname = "a" }, node.NodePrivate);
            Assert.True(renewed.Authorized);
        }
    }

    [Fact]
    public async Task RegisterAsync_RateLimited_ClientBacksOffOnItsClockAndSucceeds()
    {
        await using var server = await TestServer.StartAsync(o => o.RegistrationRatePerSource = new RateLimit(PerMinute: 12, Burst: 1));
        var authKey = await server.AuthKeyAsync(reusable: true);
        await server.JoinAsync("first", authKey);
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey(), time: server.Time);

        var register = client.RegisterAsync(new RegisterRequest { NodeKey = default, Hostname = "second", AuthKey = authKey }, X25519Keys.GeneratePrivateKey());

        // The refusal asks for 5 s; the client waits 5 to 6.25 s of its clock, then tries again.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var advanced = TimeSpan.Zero;
        while (!register.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            if (advanced < TimeSpan.FromSeconds(7))
            {
                server.Time.Advance(TimeSpan.FromMilliseconds(250));
                advanced += TimeSpan.FromMilliseconds(250);
            }
        }

        Assert.True((await register).Authorized);
        Assert.InRange(advanced, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(7));
    }

    internal static ChannelHandler Handler(TestServer server, HandshakeReplayTable table) =>
        new(server.Service, ServerIdentity.LoadOrCreate(server.State), NullLogger<ChannelHandler>.Instance) { Replay = table };

    internal static byte[] Initiation(LocalIdentity machine, NodePublicKey server, UptimeClock time)
    {
        var initiation = new byte[MessageSize.Initiation];
        var handshake = new Handshake(machine, server, PresharedKey.None);
        Assert.True(handshake.TryCreateInitiation((uint)Random.Shared.Next(1, int.MaxValue), time.GetUtcNow(), MonotonicClock.Now(time), initiation));
        return initiation;
    }

    internal static MachinePublicKey? Respond(ChannelHandler handler, byte[] initiation) =>
        handler.Respond(initiation, expected: null, localIndexInUse: 0, new byte[MessageSize.Response], out _);

    private static RegisterRequest Proven(ControlClient client, string hostname, string authKey)
    {
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        return new RegisterRequest
        {
            NodeKey = X25519Keys.PublicKeyOf(nodePrivate),
            Hostname = hostname,
            AuthKey = authKey,
            NodeKeyProof = NodeKeyProof.Create(nodePrivate, client.MachineKey, client.ServerKey),
        };
    }

}
