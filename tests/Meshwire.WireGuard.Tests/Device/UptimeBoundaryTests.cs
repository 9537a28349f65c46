using Meshwire.Testing;
using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Protocol;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>
/// The data plane across the uptimes where a careless timestamp conversion overflows (UptimeClock.Boundaries): two
/// devices handshake 90 s before the edge, pass traffic across it, rekey at REKEY_AFTER_TIME with a keypair created
/// before it, retire the old keypair, and still expire keys at REJECT_AFTER_TIME. Each start runs with the devices'
/// "now" taken both ways a driver takes it: the host's monotonic time (MonotonicClock) and the engine's time since
/// its start (GetElapsedTime), so a driver that converted wrongly would show here as lost packets or a refused rekey.
/// </summary>
public sealed class UptimeBoundaryTests
{
    private static readonly TimeSpan LeadIn = TimeSpan.FromSeconds(90);

    // Two REKEY_AFTER_TIME periods and a little: two rekeys, the second of which retires the first keypair.
    private static readonly TimeSpan TrafficFor = TimeSpan.FromSeconds(250);

    /// <summary>(uptime at the start in seconds, the boundary it crosses in seconds or 0 for none, engine origin).</summary>
    public static TheoryData<double, double, bool> Starts()
    {
        var data = new TheoryData<double, double, bool>();
        foreach (var engineOrigin in new[] { false, true })
        {
            data.Add(UptimeClock.WeeksOfUptime.TotalSeconds, 0, engineOrigin);
            foreach (var boundary in UptimeClock.Boundaries)
            {
                // The 9.2 s edge comes before any lead-in: such a host starts at boot.
                var start = boundary > LeadIn ? boundary - LeadIn : TimeSpan.Zero;
                data.Add(start.TotalSeconds, boundary.TotalSeconds, engineOrigin);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Starts))]
    public void Traffic_AcrossUptimeBoundary_RekeysRetiresOldKeypairAndStillExpiresKeys(double uptimeSeconds, double boundarySeconds, bool engineOrigin)
    {
        var lab = new BackToBack(uptime: TimeSpan.FromSeconds(uptimeSeconds), engineOrigin: engineOrigin);
        var boundary = boundarySeconds > 0 ? TimeSpan.FromSeconds(boundarySeconds) : (TimeSpan?)null;
        Assert.True(boundary is null || lab.Clock.Uptime < boundary, "the lab starts before the boundary");

        Assert.Equal(OutboundAction.Staged, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10)).Action);
        lab.Pump();
        Assert.Single(lab.TunB);
        var firstA = lab.A.Peers.Single().SendKeypair!;
        var firstB = lab.B.Peers.Single().Keypairs.Current!;

        // A datagram sealed under the first session and held back: once that session is retired, it must not open.
        Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 11)).Action);
        var held = lab.OutboxA.Drain().Single();

        var sentToB = 0;
        var sentToA = 0;
        int? initiationsAtBoundary = null;
        var end = lab.Clock.Uptime + TrafficFor;
        while (lab.Clock.Uptime < end)
        {
            Assert.NotEqual(OutboundAction.Dropped, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 100)).Action);
            Assert.NotEqual(OutboundAction.Dropped, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 200)).Action);
            sentToB++;
            sentToA++;
            lab.TickFor(TimeSpan.FromSeconds(1), deliver: true);
            if (boundary is { } edge && initiationsAtBoundary is null && lab.Clock.Uptime > edge)
            {
                initiationsAtBoundary = lab.OutboxA.CountSent(MessageType.Initiation);
            }
        }

        lab.Pump();

        // Every packet arrived, in a session that was renewed twice: at REKEY_AFTER_TIME after the first handshake
        // (past the boundary, with a keypair created before it) and again REKEY_AFTER_TIME later.
        Assert.Equal(1 + sentToB, lab.TunB.Count);
        Assert.Equal(sentToA, lab.TunA.Count);
        Assert.Equal(0, lab.A.Counters.TotalDropped);
        Assert.Equal(0, lab.B.Counters.TotalDropped);
        Assert.Equal(3, lab.OutboxA.CountSent(MessageType.Initiation));
        Assert.Equal(0, lab.OutboxB.CountSent(MessageType.Initiation));
        if (boundary is not null)
        {
            Assert.Equal(1, initiationsAtBoundary);
        }

        // The first session is retired on both sides: out of every slot, its index freed, its held datagram refused.
        var keypairsA = lab.A.Peers.Single().Keypairs;
        var keypairsB = lab.B.Peers.Single().Keypairs;
        Assert.DoesNotContain(firstA, new[] { keypairsA.Current, keypairsA.Previous, keypairsA.Next });
        Assert.DoesNotContain(firstB, new[] { keypairsB.Current, keypairsB.Previous, keypairsB.Next });
        Assert.Equal(InboundAction.Dropped, lab.Deliver(lab.B, held, BackToBack.EndpointA).Action);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.UnknownReceiverIndex));

        // REJECT_AFTER_TIME still holds: a datagram sealed now and delivered 180 s later is refused, A will not seal
        // with the expired session, and with no answer to its handshakes both sides end up holding no keys.
        Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 12)).Action);
        var late = lab.OutboxA.Drain().Single();
        lab.Advance(WireGuardConstants.RejectAfterTime);
        Assert.Equal(InboundAction.Dropped, lab.Deliver(lab.B, late, BackToBack.EndpointA).Action);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.KeypairExpired));
        Assert.Equal(OutboundAction.Staged, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 13)).Action);

        lab.OutboxA.Drain();
        lab.OutboxB.Drain();
        lab.TickFor(3 * WireGuardConstants.RejectAfterTime);
        Assert.Equal(0, lab.A.LiveIndexCount);
        Assert.Equal(0, lab.B.LiveIndexCount);
    }
}
