using Meshwire.Paths.Disco;
using Meshwire.Paths.PathSelection;

namespace Meshwire.Paths.Tests.PathSelection;

public sealed class PathManagerAllocationTests
{
    [Fact]
    public void RouteHandleDiscoAndTryPoll_SteadyState_AllocateNothing()
    {
        using var net = new SimNetwork();
        var a = net.AddNode("a");
        var b = net.AddNode("b");
        a.AddAddress("198.51.100.1:41641", "wan");
        var address = b.AddAddress("203.0.113.2:41641", "wan").Address;
        net.PublishNetmap();
        a.Sending.Add(b.NodeKey);
        net.Run(TimeSpan.FromSeconds(1));

        var now = net.Now;
        var buffer = new byte[PathManager.MaxDatagramLength];
        var ping = new byte[PathManager.MaxDatagramLength];
        using var bToA = DiscoBox.TryCreate(b.DiscoPrivate, a.DiscoKey)!;
        DiscoWire.TryWrite(DiscoMessage.Ping(DiscoTxId.NewRandom(), b.NodeKey, net.UnixMs), bToA, ping, out var pingLength);
        a.Manager.Route(b.NodeKey, now);
        a.Manager.TryPoll(now, net.UnixMs, buffer, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var decision = a.Manager.Route(b.NodeKey, now);
        var result = a.Manager.HandleDisco(ping.AsSpan(0, pingLength), DiscoSource.FromDirect(address), now, net.UnixMs);
        var polled = a.Manager.TryPoll(now, net.UnixMs, buffer, out var pong);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(PathKind.Direct, decision.Kind);
        Assert.Equal(DiscoReceiveOutcome.PingAnswered, result.Outcome);
        Assert.True(polled);
        Assert.Equal(DiscoMessageType.Pong, pong.Type);
        Assert.Equal(0, allocated);
    }
}
