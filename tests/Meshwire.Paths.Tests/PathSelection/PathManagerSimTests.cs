using Meshwire.Paths.Disco;
using Meshwire.Paths.PathSelection;

namespace Meshwire.Paths.Tests.PathSelection;

/// <summary>Two or more PathManagers back to back through <see cref="SimNetwork"/>.</summary>
public sealed class PathManagerSimTests : IDisposable
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);
    private readonly SimNetwork _net = new();
    private readonly SimNode _a;
    private readonly SimNode _b;

    public PathManagerSimTests()
    {
        _a = _net.AddNode("a");
        _b = _net.AddNode("b");
    }

    public void Dispose() => _net.Dispose();

    [Fact]
    public void Route_FirstPacket_IsRelayedThenDirectAfterPong()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        var b = _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();

        Assert.Equal(PathDecision.ToRelay(SimNetwork.Region), _a.Manager.Route(_b.NodeKey, _net.Now));
        _a.Sending.Add(_b.NodeKey);
        var took = _net.RunUntil(() => _a.Decisions[_b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(2));

        Assert.NotNull(took);
        Assert.True(took < TimeSpan.FromMilliseconds(100), $"took {took}");
        Assert.Equal(PathDecision.ToDirect(b.Address), _a.Decisions[_b.NodeKey]);
        var status = _a.Manager.StatusOf(_b.NodeKey, _net.Now);
        Assert.Equal(PathKind.Direct, status.Kind);
        Assert.InRange(status.Latency!.Value, 40 * Ms, 43 * Ms);
    }

    [Fact]
    public void Route_PeerActive_PingsEveryCandidateAndCallsThroughTheRelay()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        _b.AddAddress("192.168.1.2:41641", "lan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);

        _net.Run(Ms);

        Assert.Equal(2, _a.Sent.Count(s => s.Transmit.Type == DiscoMessageType.Ping && !s.Transmit.ViaRelay));
        var call = Assert.Single(_a.Sent, s => s.Transmit.Type == DiscoMessageType.CallMeMaybe);
        Assert.True(call.Transmit.ViaRelay);
        Assert.Equal(SimNetwork.Region, call.Transmit.RelayRegion);
        Assert.Equal(_b.NodeKey, call.Transmit.Peer);
    }

    [Fact]
    public void DirectPathBreaks_RelayedWithinTrustDuration_AndDirectAgainAfterItHeals()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        var b = _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(10));
        Assert.Equal(PathKind.Direct, _a.Decisions[_b.NodeKey].Kind);

        b.Open = false;
        _net.Run(TimeSpan.FromSeconds(3));
        Assert.Equal(PathKind.Direct, _a.Decisions[_b.NodeKey].Kind);
        var fellBack = _net.RunUntil(() => _a.Decisions[_b.NodeKey].Kind == PathKind.Relay, TimeSpan.FromSeconds(10));
        Assert.NotNull(fellBack);
        Assert.True(TimeSpan.FromSeconds(3) + fellBack <= PathConstants.TrustDuration + (10 * Ms), $"relayed after 3 s + {fellBack}");

        b.Open = true;
        var healed = _net.RunUntil(() => _a.Decisions[_b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(20));
        Assert.NotNull(healed);
    }

    [Fact]
    public void DirectPathDown_DiscoveryBacksOff()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan").Open = false;
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);

        _net.Run(TimeSpan.FromSeconds(40));

        // Rounds at 0, 1, 3, 7, 15, 31 s: one ping and one call-me-maybe each.
        Assert.Equal(6, _a.SentCount(DiscoMessageType.Ping));
        Assert.Equal(6, _a.SentCount(DiscoMessageType.CallMeMaybe));
        Assert.Equal(PathKind.Relay, _a.Decisions[_b.NodeKey].Kind);
    }

    [Fact]
    public void Route_SeveralProvenPaths_ChoosesTheLowestLatency()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _a.AddAddress("192.168.1.1:41641", "lan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        var lan = _b.AddAddress("192.168.1.2:41641", "lan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);

        _net.Run(TimeSpan.FromSeconds(1));

        Assert.Equal(PathDecision.ToDirect(lan.Address), _a.Decisions[_b.NodeKey]);
    }

    [Fact]
    public void Route_FasterPathFoundLater_SwitchesToIt()
    {
        // Neither side advertises its LAN address at first (else call-me-maybe would find it at once).
        _a.Advertised = [_a.AddAddress("198.51.100.1:41641", "wan").Address];
        _a.AddAddress("192.168.1.1:41641", "lan");
        var wan = _b.AddAddress("203.0.113.2:41641", "wan");
        var lan = _b.AddAddress("192.168.1.2:41641", "lan");
        _b.Advertised = [wan.Address];
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(1));
        Assert.Equal(PathDecision.ToDirect(wan.Address), _a.Decisions[_b.NodeKey]);

        _b.Advertised = [wan.Address, lan.Address];
        _net.PublishNetmap();
        _net.Run(TimeSpan.FromMilliseconds(100));

        Assert.Equal(PathDecision.ToDirect(lan.Address), _a.Decisions[_b.NodeKey]);
    }

    [Fact]
    public void Route_OtherPathOnlySlightlyFaster_KeepsTheCurrentOne()
    {
        _net.ZoneLatency["wan2"] = TimeSpan.FromMilliseconds(19);
        _a.AddAddress("198.51.100.1:41641", "wan");
        _a.AddAddress("198.51.100.9:41641", "wan2");
        var first = _b.AddAddress("203.0.113.2:41641", "wan");
        var second = _b.AddAddress("203.0.113.3:41641", "wan2");
        _b.Advertised = [first.Address];
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(1));

        _b.Advertised = [first.Address, second.Address];
        _net.PublishNetmap();
        _net.Run(TimeSpan.FromSeconds(30));

        Assert.Equal(PathDecision.ToDirect(first.Address), _a.Decisions[_b.NodeKey]);
    }

    [Fact]
    public void CallMeMaybe_BothBehindNat_BothSidesPingAndBothGoDirect()
    {
        _a.AddAddress("198.51.100.1:41641", "wan").Nat = true;
        _b.AddAddress("203.0.113.2:41641", "wan").Nat = true;
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);

        var took = _net.RunUntil(() => _a.Decisions[_b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(5));

        Assert.NotNull(took);
        Assert.Contains(_b.Received, r => r.Result.Outcome == DiscoReceiveOutcome.CallMeMaybeAccepted);
        Assert.True(_b.SentCount(DiscoMessageType.Ping) > 0, "b must ping back after the call-me-maybe");
        Assert.Equal(PathKind.Direct, _b.Manager.StatusOf(_a.NodeKey, _net.Now).Kind);
    }

    [Fact]
    public void NatWithoutCallMeMaybe_StaysRelayed()
    {
        _a.AddAddress("198.51.100.1:41641", "wan").Nat = true;
        _b.AddAddress("203.0.113.2:41641", "wan").Nat = true;
        _net.PublishNetmap();
        _a.Manager.SetLocalEndpoints([]);
        _a.Sending.Add(_b.NodeKey);

        _net.Run(TimeSpan.FromSeconds(5));

        Assert.Equal(PathKind.Relay, _a.Decisions[_b.NodeKey].Kind);
        Assert.Equal(0, _b.SentCount(DiscoMessageType.Ping));
    }

    [Fact]
    public void IdlePeers_SendNothing()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();

        _net.Run(TimeSpan.FromSeconds(120));

        Assert.Empty(_a.Sent);
        Assert.Empty(_b.Sent);
        Assert.Equal(TimeSpan.MaxValue, _a.Manager.NextDeadline);
    }

    [Fact]
    public void PeerGoesIdle_PingsStopAfterActiveTimeout()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(1));
        var stoppedAt = _net.Now;
        _a.Sending.Clear();

        _net.Run(TimeSpan.FromSeconds(120));

        Assert.True(_a.SentCount(DiscoMessageType.Ping, after: stoppedAt) > 5, "heartbeats continue while active");
        Assert.Equal(0, _a.SentCount(DiscoMessageType.Ping, after: stoppedAt + PathConstants.ActiveTimeout));
    }

    [Fact]
    public void DirectTraffic_KeepsThePathWithFewerPings()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _b.Sending.Add(_a.NodeKey);
        _a.Traffic = true;
        _b.Traffic = true;
        _net.Run(TimeSpan.FromSeconds(2));
        var start = _net.Now;

        _net.Run(TimeSpan.FromSeconds(30));

        Assert.Equal(PathKind.Direct, _a.Decisions[_b.NodeKey].Kind);
        Assert.Equal(PathKind.Direct, _b.Decisions[_a.NodeKey].Kind);
        Assert.True(_a.SentCount(DiscoMessageType.Ping, after: start) <= 1, $"{_a.SentCount(DiscoMessageType.Ping, after: start)} pings");
    }

    [Fact]
    public void PeerRoamsToANewAddress_PathFollowsWithoutRelaying()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        var old = _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _b.Sending.Add(_a.NodeKey);
        _net.Run(TimeSpan.FromSeconds(2));
        Assert.Equal(PathDecision.ToDirect(old.Address), _a.Decisions[_b.NodeKey]);

        _b.Addresses.Remove(old);
        var roamed = _b.AddAddress("203.0.113.99:5555", "wan");
        var relayed = false;
        var took = _net.RunUntil(
            () =>
            {
                relayed |= _a.Decisions[_b.NodeKey].Kind != PathKind.Direct;
                return _a.Decisions[_b.NodeKey] == PathDecision.ToDirect(roamed.Address);
            },
            TimeSpan.FromSeconds(15));

        Assert.NotNull(took);
        Assert.True(took <= PathConstants.TrustDuration + PathConstants.HeartbeatInterval, $"took {took}");
        Assert.False(relayed);
    }

    [Fact]
    public void SetPeers_EndpointsChange_RestartsDiscoveryAtOnce()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        var b = _b.AddAddress("203.0.113.2:41641", "wan");
        _b.Advertised = [];
        _net.PublishNetmap();
        _a.Manager.SetLocalEndpoints([]);
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(40));
        Assert.Equal(PathKind.Relay, _a.Decisions[_b.NodeKey].Kind);

        _b.Advertised = [b.Address];
        _a.Manager.SetPeers([SimNetwork.PeerOf(_b)], _net.Now);
        var took = _net.RunUntil(() => _a.Decisions[_b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(1));

        Assert.NotNull(took);
        Assert.True(took < TimeSpan.FromMilliseconds(100), $"took {took}");
    }

    [Fact]
    public void SetPeers_SameNetmapAgain_KeepsTheDirectPath()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        var b = _b.AddAddress("203.0.113.2:41641", "wan");
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);
        _net.Run(TimeSpan.FromSeconds(1));
        var pings = _a.SentCount(DiscoMessageType.Ping);

        _net.PublishNetmap();

        Assert.Equal(PathDecision.ToDirect(b.Address), _a.Manager.Route(_b.NodeKey, _net.Now));
        _net.Run(Ms);
        Assert.Equal(pings, _a.SentCount(DiscoMessageType.Ping));
    }

    [Fact]
    public void ManyPeers_OnlyActiveOnesArePinged()
    {
        _a.AddAddress("198.51.100.1:41641", "wan");
        _b.AddAddress("203.0.113.2:41641", "wan");
        var others = Enumerable.Range(3, 20).Select(i =>
        {
            var node = _net.AddNode($"n{i}");
            node.AddAddress($"203.0.113.{i}:41641", "wan");
            return node;
        }).ToList();
        _net.PublishNetmap();
        _a.Sending.Add(_b.NodeKey);

        _net.Run(TimeSpan.FromSeconds(10));

        Assert.All(_a.Sent, s => Assert.Equal(_b.NodeKey, s.Transmit.Peer));
        Assert.All(others, o => Assert.Empty(o.Received));
    }
}
