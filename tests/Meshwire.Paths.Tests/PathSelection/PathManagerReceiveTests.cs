using Meshwire.Core;
using Meshwire.Paths.Disco;
using Meshwire.Paths.PathSelection;
using Meshwire.Testing;

namespace Meshwire.Paths.Tests.PathSelection;

/// <summary>HandleDisco against hand-made datagrams: forgeries, replays, wrong senders and unexpected pongs are ignored.</summary>
public sealed class PathManagerReceiveTests : IDisposable
{
    private static readonly TimeSpan Now = UptimeClock.WeeksOfUptime;
    private const long UnixMs = 1_760_000_000_000;
    private static readonly EndpointAddress PeerAddress = TestKeys.V4("203.0.113.2:41641");
    private readonly SimNode _a = new("a", homeRelay: 7);
    private readonly SimNode _b = new("b", homeRelay: 7);
    private readonly DiscoBox _bToA;
    private readonly byte[] _buffer = new byte[PathManager.MaxDatagramLength];

    public PathManagerReceiveTests()
    {
        _a.Manager.SetPeers([new PathPeer(_b.NodeKey, _b.DiscoKey, [PeerAddress], 7)], Now);
        _bToA = DiscoBox.TryCreate(_b.DiscoPrivate, _a.DiscoKey)!;
    }

    public void Dispose()
    {
        _bToA.Dispose();
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void HandleDisco_NotDisco_SaysSo()
    {
        var wireGuard = new byte[] { 4, 0, 0, 0, 1, 2, 3, 4 };

        Assert.Equal(DiscoReceiveOutcome.NotDisco, _a.Manager.HandleDisco(wireGuard, DiscoSource.FromDirect(PeerAddress), Now, UnixMs).Outcome);
    }

    [Fact]
    public void HandleDisco_Ping_QueuesPongToTheSourceWithTheObservedAddress()
    {
        var result = Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs), DiscoSource.FromDirect(PeerAddress));

        Assert.Equal(new DiscoReceiveResult(DiscoReceiveOutcome.PingAnswered, _b.NodeKey, default), result);
        Assert.True(_a.Manager.TryPoll(Now, UnixMs, _buffer, out var transmit));
        Assert.Equal(new Transmit(_b.NodeKey, false, PeerAddress, 0, DiscoMessageType.Pong, transmit.Length), transmit);
        Assert.Equal(DiscoReadStatus.Ok, DiscoWire.TryRead(_buffer.AsSpan(0, transmit.Length), BoxAtB(), out var pong));
        Assert.Equal(PeerAddress, pong.Source);
        Assert.False(_a.Manager.TryPoll(Now, UnixMs, _buffer, out _));
    }

    [Fact]
    public void HandleDisco_PingViaRelay_IsAnsweredViaRelay()
    {
        Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs), DiscoSource.FromRelay(_b.NodeKey));

        Assert.True(_a.Manager.TryPoll(Now, UnixMs, _buffer, out var transmit));
        Assert.True(transmit.ViaRelay);
        Assert.Equal(7, transmit.RelayRegion);
    }

    [Fact]
    public void HandleDisco_SameDatagramTwice_SecondIsReplayed()
    {
        var datagram = Seal(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs));

        Assert.Equal(DiscoReceiveOutcome.PingAnswered, _a.Manager.HandleDisco(datagram, DiscoSource.FromDirect(PeerAddress), Now, UnixMs).Outcome);
        Assert.Equal(DiscoReceiveOutcome.Replayed, _a.Manager.HandleDisco(datagram, DiscoSource.FromDirect(PeerAddress), Now, UnixMs + 5000).Outcome);
    }

    [Theory]
    [InlineData(-61_000)]
    [InlineData(31_000)]
    public void HandleDisco_TimestampOutsideTheWindow_IsReplayedAndUnanswered(long skewMs)
    {
        var result = Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs + skewMs), DiscoSource.FromDirect(PeerAddress));

        Assert.Equal(DiscoReceiveOutcome.Replayed, result.Outcome);
        Assert.False(_a.Manager.TryPoll(Now, UnixMs, _buffer, out _));
    }

    [Fact]
    public void HandleDisco_UnknownSender_IsIgnored()
    {
        var stranger = DiscoKeys.Generate();
        using var box = DiscoBox.TryCreate(stranger, _a.DiscoKey)!;
        DiscoWire.TryWrite(DiscoMessage.Ping(DiscoTxId.NewRandom(), TestKeys.NodeKey(), UnixMs), box, _buffer, out var written);

        Assert.Equal(DiscoReceiveOutcome.UnknownSender, _a.Manager.HandleDisco(_buffer.AsSpan(0, written), DiscoSource.FromDirect(PeerAddress), Now, UnixMs).Outcome);
        Assert.False(_a.Manager.TryPoll(Now, UnixMs, _buffer, out _));
    }

    [Fact]
    public void HandleDisco_FlippedBit_IsForged()
    {
        var datagram = Seal(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs));
        datagram[^3] ^= 0x10;

        Assert.Equal(DiscoReceiveOutcome.Forged, _a.Manager.HandleDisco(datagram, DiscoSource.FromDirect(PeerAddress), Now, UnixMs).Outcome);
    }

    [Fact]
    public void HandleDisco_RelayedFromAnotherNodeKey_IsSenderMismatch()
    {
        var result = Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs), DiscoSource.FromRelay(TestKeys.NodeKey()));

        Assert.Equal(DiscoReceiveOutcome.SenderMismatch, result.Outcome);
    }

    [Fact]
    public void HandleDisco_PingNamingAnotherNodeKey_IsSenderMismatch()
    {
        var result = Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), TestKeys.NodeKey(), UnixMs), DiscoSource.FromDirect(PeerAddress));

        Assert.Equal(DiscoReceiveOutcome.SenderMismatch, result.Outcome);
    }

    [Fact]
    public void HandleDisco_PongForAnOutstandingPing_IsAcceptedOnceAndProvesThePath()
    {
        var tx = SendPingFromA();
        var observed = TestKeys.V4("198.51.100.1:41641");
        var later = Now + TimeSpan.FromMilliseconds(30);

        var first = Handle(DiscoMessage.Pong(tx, observed, UnixMs), DiscoSource.FromDirect(PeerAddress), later);
        var second = Handle(DiscoMessage.Pong(tx, observed, UnixMs + 1), DiscoSource.FromDirect(PeerAddress), later);

        Assert.Equal(new DiscoReceiveResult(DiscoReceiveOutcome.PongAccepted, _b.NodeKey, observed), first);
        Assert.Equal(DiscoReceiveOutcome.PongUnexpected, second.Outcome);
        Assert.Equal(PathDecision.ToDirect(PeerAddress), _a.Manager.Route(_b.NodeKey, later));
        Assert.Equal(TimeSpan.FromMilliseconds(30), _a.Manager.StatusOf(_b.NodeKey, later).Latency);
    }

    [Fact]
    public void HandleDisco_PongForATxNeverSent_IsUnexpected()
    {
        SendPingFromA();

        var result = Handle(DiscoMessage.Pong(DiscoTxId.NewRandom(), default, UnixMs), DiscoSource.FromDirect(PeerAddress));

        Assert.Equal(DiscoReceiveOutcome.PongUnexpected, result.Outcome);
        Assert.Equal(PathKind.Relay, _a.Manager.Route(_b.NodeKey, Now).Kind);
    }

    [Fact]
    public void HandleDisco_PongAfterThePingTimedOut_IsUnexpected()
    {
        var tx = SendPingFromA();
        var late = Now + PathConstants.PingTimeout + TimeSpan.FromMilliseconds(1);
        while (_a.Manager.TryPoll(late, UnixMs, _buffer, out _))
        {
        }

        var result = Handle(DiscoMessage.Pong(tx, default, UnixMs), DiscoSource.FromDirect(PeerAddress), late);

        Assert.Equal(DiscoReceiveOutcome.PongUnexpected, result.Outcome);
    }

    [Fact]
    public void HandleDisco_PongViaRelay_IsUnexpected()
    {
        var tx = SendPingFromA();

        var result = Handle(DiscoMessage.Pong(tx, default, UnixMs), DiscoSource.FromRelay(_b.NodeKey));

        Assert.Equal(DiscoReceiveOutcome.PongUnexpected, result.Outcome);
    }

    [Fact]
    public void HandleDisco_CallMeMaybe_PingsEachEndpointOnce()
    {
        EndpointAddress[] endpoints = [TestKeys.V4("203.0.113.50:1"), TestKeys.V4("203.0.113.51:2")];

        var result = Handle(DiscoMessage.CallMeMaybe(endpoints, UnixMs), DiscoSource.FromRelay(_b.NodeKey));
        Handle(DiscoMessage.CallMeMaybe(endpoints, UnixMs + 1), DiscoSource.FromRelay(_b.NodeKey));

        Assert.Equal(DiscoReceiveOutcome.CallMeMaybeAccepted, result.Outcome);
        var sent = PollAll(Now);
        Assert.Equal(endpoints, sent.Select(t => t.Direct).ToArray());
        Assert.All(sent, t => Assert.Equal(DiscoMessageType.Ping, t.Type));
    }

    [Fact]
    public void NoteDirectTraffic_FromANewAddressOfAnActivePeer_PingsIt()
    {
        SendPingFromA();
        var roamed = TestKeys.V4("203.0.113.77:9999");

        _a.Manager.NoteDirectTraffic(_b.NodeKey, roamed, Now);

        var sent = Assert.Single(PollAll(Now));
        Assert.Equal(DiscoMessageType.Ping, sent.Type);
        Assert.Equal(roamed, sent.Direct);
        Assert.Equal(2, _a.Manager.StatusOf(_b.NodeKey, Now).Candidates);
    }

    [Fact]
    public void NoteDirectTraffic_UnprovenAddress_DoesNotMakeItDirect()
    {
        _a.Manager.Route(_b.NodeKey, Now);
        _a.Manager.NoteDirectTraffic(_b.NodeKey, PeerAddress, Now);

        Assert.Equal(PathKind.Relay, _a.Manager.Route(_b.NodeKey, Now).Kind);
    }

    [Fact]
    public void Route_UnknownPeer_IsNone()
    {
        Assert.Equal(PathDecision.None, _a.Manager.Route(TestKeys.NodeKey(), Now));
    }

    [Theory]
    [InlineData(3, 7, 3)]
    [InlineData(0, 7, 7)]
    [InlineData(0, 0, 0)]
    public void Route_NoDirectPath_UsesThePeersHomeRelayElseOurs(int peerRegion, int ourRegion, int expected)
    {
        using var manager = new PathManager(DiscoKeys.Generate(), TestKeys.NodeKey(), ourRegion);
        manager.SetPeers([new PathPeer(_b.NodeKey, _b.DiscoKey, [], peerRegion)], Now);

        var decision = manager.Route(_b.NodeKey, Now);

        Assert.Equal(expected == 0 ? PathDecision.None : PathDecision.ToRelay(expected), decision);
    }

    [Fact]
    public void TryPoll_BufferTooSmall_Throws()
    {
        Assert.Throws<ArgumentException>(() => _a.Manager.TryPoll(Now, UnixMs, new byte[PathManager.MaxDatagramLength - 1], out _));
    }

    [Fact]
    public void NextDeadline_IdleThenActive_IsMaxValueThenNow()
    {
        Assert.Equal(TimeSpan.MaxValue, _a.Manager.NextDeadline);

        _a.Manager.Route(_b.NodeKey, Now);

        Assert.Equal(Now, _a.Manager.NextDeadline);
        PollAll(Now);
        Assert.True(_a.Manager.NextDeadline > Now);
    }

    [Fact]
    public void SetPeers_DiscoKeyRotated_ForgetsTheOldPathAndKey()
    {
        var tx = SendPingFromA();
        Handle(DiscoMessage.Pong(tx, default, UnixMs), DiscoSource.FromDirect(PeerAddress));
        Assert.Equal(PathKind.Direct, _a.Manager.Route(_b.NodeKey, Now).Kind);

        _a.Manager.SetPeers([new PathPeer(_b.NodeKey, DiscoKeys.PublicKeyOf(DiscoKeys.Generate()), [PeerAddress], 7)], Now);

        Assert.Equal(PathKind.Relay, _a.Manager.Route(_b.NodeKey, Now).Kind);
        Assert.Equal(DiscoReceiveOutcome.UnknownSender, Handle(DiscoMessage.Ping(DiscoTxId.NewRandom(), _b.NodeKey, UnixMs), DiscoSource.FromDirect(PeerAddress)).Outcome);
    }

    [Fact]
    public void SetPeers_PeerRemoved_IsNoLongerRoutedOrAnswered()
    {
        _a.Manager.SetPeers([], Now);

        Assert.Equal(PathDecision.None, _a.Manager.Route(_b.NodeKey, Now));
        Assert.Equal(0, _a.Manager.PeerCount);
    }

    [Theory]
    [InlineData(20.0, 40.0, true)]
    [InlineData(36.0, 40.0, true)]
    [InlineData(36.5, 40.0, false)]
    [InlineData(0.5, 1.2, false)]
    [InlineData(0.2, 1.2, true)]
    [InlineData(40.0, 40.0, false)]
    public void IsClearlyFaster_NeedsTenPercentAndOneMillisecond(double candidateMs, double currentMs, bool expected)
    {
        Assert.Equal(expected, PathManager.IsClearlyFaster(TimeSpan.FromMilliseconds(candidateMs), TimeSpan.FromMilliseconds(currentMs)));
    }

    /// <summary>Makes A ping B (by routing to B) and returns the tx id of the ping to <see cref="PeerAddress"/>.</summary>
    private DiscoTxId SendPingFromA()
    {
        _a.Manager.Route(_b.NodeKey, Now);
        Assert.True(_a.Manager.TryPoll(Now, UnixMs, _buffer, out var transmit));
        Assert.Equal(DiscoMessageType.Ping, transmit.Type);
        Assert.Equal(PeerAddress, transmit.Direct);
        Assert.Equal(DiscoReadStatus.Ok, DiscoWire.TryRead(_buffer.AsSpan(0, transmit.Length), BoxAtB(), out var ping));
        Assert.Equal(_a.NodeKey, ping.NodeKey);
        PollAll(Now);
        return ping.TxId;
    }

    private List<Transmit> PollAll(TimeSpan now)
    {
        var sent = new List<Transmit>();
        while (_a.Manager.TryPoll(now, UnixMs, _buffer, out var transmit))
        {
            sent.Add(transmit);
        }

        return sent;
    }

    private DiscoBox BoxAtB() => _boxAtB ??= DiscoBox.TryCreate(_b.DiscoPrivate, _a.DiscoKey)!;

    private DiscoBox? _boxAtB;

    private DiscoReceiveResult Handle(in DiscoMessage message, DiscoSource source, TimeSpan? now = null) =>
        _a.Manager.HandleDisco(Seal(message), source, now ?? Now, UnixMs);

    private byte[] Seal(in DiscoMessage message)
    {
        var buffer = new byte[PathManager.MaxDatagramLength];
        Assert.True(DiscoWire.TryWrite(message, _bToA, buffer, out var written));
        return buffer[..written];
    }
}
