using Meshwire.Paths.PathSelection;
using Meshwire.Testing;

namespace Meshwire.Paths.Tests.PathSelection;

/// <summary>
/// Path selection across the uptimes where a careless timestamp conversion overflows (UptimeClock.Boundaries): a
/// direct path found a minute before the edge is kept across it by its heartbeats, and after it a broken path still
/// falls back to the relay within the trust duration and comes back when it heals. Each start runs with "now" taken
/// both ways a driver takes it: the host's monotonic time and the time since start (as PathRouter computes it).
/// </summary>
public sealed class PathManagerUptimeTests
{
    private static readonly TimeSpan LeadIn = TimeSpan.FromSeconds(60);

    /// <summary>(uptime at the start in seconds, router origin).</summary>
    public static TheoryData<double, bool> Starts()
    {
        var data = new TheoryData<double, bool>();
        foreach (var routerOrigin in new[] { false, true })
        {
            data.Add(UptimeClock.WeeksOfUptime.TotalSeconds, routerOrigin);
            foreach (var boundary in UptimeClock.Boundaries)
            {
                data.Add((boundary > LeadIn ? boundary - LeadIn : TimeSpan.Zero).TotalSeconds, routerOrigin);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Starts))]
    public void DirectPath_AcrossUptimeBoundary_KeptThenFallsBackAndHealsOnTime(double uptimeSeconds, bool routerOrigin)
    {
        using var net = new SimNetwork(TimeSpan.FromSeconds(uptimeSeconds), routerOrigin);
        var a = net.AddNode("a");
        var b = net.AddNode("b");
        a.AddAddress("198.51.100.1:41641", "wan");
        var bWan = b.AddAddress("203.0.113.2:41641", "wan");
        net.PublishNetmap();
        a.Sending.Add(b.NodeKey);

        var found = net.RunUntil(() => a.Decisions[b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(2));
        Assert.NotNull(found);
        Assert.True(found < TimeSpan.FromMilliseconds(100), $"took {found}");

        // Past the boundary (a minute on) and a little more: the heartbeats keep the path, never a step relayed.
        Assert.Null(net.RunUntil(() => a.Decisions[b.NodeKey].Kind != PathKind.Direct, LeadIn + TimeSpan.FromSeconds(5)));
        Assert.InRange(a.Manager.StatusOf(b.NodeKey, net.Now).Latency!.Value, TimeSpan.FromMilliseconds(40), TimeSpan.FromMilliseconds(43));

        bWan.Open = false;
        var fellBack = net.RunUntil(() => a.Decisions[b.NodeKey].Kind == PathKind.Relay, TimeSpan.FromSeconds(15));
        Assert.NotNull(fellBack);
        Assert.True(fellBack <= PathConstants.TrustDuration + TimeSpan.FromMilliseconds(10), $"relayed after {fellBack}");

        bWan.Open = true;
        Assert.NotNull(net.RunUntil(() => a.Decisions[b.NodeKey].Kind == PathKind.Direct, TimeSpan.FromSeconds(20)));
    }
}
