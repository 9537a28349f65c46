using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Device;

public sealed class WireGuardDeviceTests
{
    [Fact]
    public void EncryptOutbound_NoSession_StagesPacketThenDeliversItAfterHandshake()
    {
        var lab = new BackToBack();
        var packet = BackToBack.Udp4("10.0.0.1", "10.0.0.2", 100);

        Assert.Equal(OutboundAction.Staged, lab.Send(lab.A, packet).Action);
        Assert.Equal(1, lab.OutboxA.CountSent(MessageType.Initiation));
        lab.Pump();

        Assert.Single(lab.TunB);
        Assert.Equal(packet, lab.TunB[0]);
        Assert.Equal(1, lab.OutboxB.CountSent(MessageType.Response));
    }

    [Fact]
    public void Session_AfterHandshake_CarriesDataBothWays()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 500 + i)).Action);
            Assert.Equal(OutboundAction.Send, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 700 + i)).Action);
        }

        lab.Pump();
        Assert.Equal(6, lab.TunB.Count);
        Assert.Equal(5, lab.TunA.Count);
        Assert.Equal(728 + 4, lab.TunA[^1].Length);
        Assert.Equal(0, lab.A.Counters.TotalDropped);
        Assert.Equal(0, lab.B.Counters.TotalDropped);
    }

    [Fact]
    public void Session_OlderThanRekeyAfterTime_StartsNewHandshakeOnSend()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        var initiations = lab.OutboxA.CountSent(MessageType.Initiation);

        lab.Advance(TimeSpan.FromSeconds(121));
        Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10)).Action);

        Assert.Equal(initiations + 1, lab.OutboxA.CountSent(MessageType.Initiation));
        lab.Pump();
        Assert.Equal(2, lab.TunB.Count);
        Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10)).Action);
    }

    [Fact]
    public void Session_AfterRekeyAfterMessages_StartsNewHandshakeOnSend_AndRejectAfterMessagesStopsSealing()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        var initiations = lab.OutboxA.CountSent(MessageType.Initiation);
        var keypair = lab.A.Peers.Single().SendKeypair!;

        // Past REKEY_TIMEOUT, so the rate limit on initiations does not hide the trigger.
        lab.Advance(TimeSpan.FromSeconds(6));
        keypair.SetSendCounterForTesting(Meshwire.WireGuard.Protocol.WireGuardConstants.RekeyAfterMessages);
        Assert.Equal(OutboundAction.Send, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10)).Action);
        Assert.Equal(initiations + 1, lab.OutboxA.CountSent(MessageType.Initiation));

        // Before the new session lands, the old one runs out of counters: packets wait for the new session.
        keypair.SetSendCounterForTesting(Meshwire.WireGuard.Protocol.WireGuardConstants.RejectAfterMessages);
        Assert.Equal(OutboundAction.Staged, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 20)).Action);
        lab.Pump();
        Assert.NotSame(keypair, lab.A.Peers.Single().SendKeypair);
        Assert.Equal(28 + 20, lab.TunB[^1].Length);
    }

    [Fact]
    public void Session_OlderThanRejectAfterTime_IsNotUsedAndKeysAreZeroedLater()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();

        lab.Advance(TimeSpan.FromSeconds(181));
        Assert.Equal(OutboundAction.Staged, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10)).Action);

        lab.OutboxA.Drain();
        lab.TickFor(TimeSpan.FromSeconds(3 * 180));
        Assert.Equal(0, lab.A.LiveIndexCount);
    }

    [Fact]
    public void Handshake_Unanswered_RetriesEveryRekeyTimeoutThenGivesUp()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));

        lab.TickFor(TimeSpan.FromSeconds(100));

        // One initiation, then a retry every 5 s (plus jitter) until REKEY_ATTEMPT_TIME (90 s).
        var sent = lab.OutboxA.CountSent(MessageType.Initiation);
        Assert.InRange(sent, 16, 19);
        Assert.Equal(1, lab.A.Counters.Dropped(DropReason.HandshakeGaveUp));
        lab.TickFor(TimeSpan.FromSeconds(30));
        Assert.Equal(sent, lab.OutboxA.CountSent(MessageType.Initiation));
    }

    [Fact]
    public void TransportPacket_Replayed_IsDroppedAndCounted()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 50));
        var datagram = lab.OutboxA.Drain().Single();

        Assert.Equal(InboundAction.WriteToTun, lab.Deliver(lab.B, datagram, BackToBack.EndpointA).Action);
        Assert.Equal(InboundAction.Dropped, lab.Deliver(lab.B, datagram, BackToBack.EndpointA).Action);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.Replayed));
    }

    [Fact]
    public void TransportPacket_Tampered_IsDroppedAndCounted()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 50));
        var datagram = lab.OutboxA.Drain().Single();
        datagram[^1] ^= 1;

        Assert.Equal(InboundAction.Dropped, lab.Deliver(lab.B, datagram, BackToBack.EndpointA).Action);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.AuthenticationFailed));
    }

    [Fact]
    public void ProcessInbound_TruncatedOrGarbage_AtEveryLength_DropsWithoutThrowing()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        var initiation = lab.OutboxA.Drain().Single();
        lab.Deliver(lab.B, initiation, BackToBack.EndpointA);
        lab.Pump();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 64));
        var transport = lab.OutboxA.Drain().Single();

        foreach (var message in new[] { initiation, transport })
        {
            for (var length = 0; length < message.Length; length++)
            {
                var result = lab.Deliver(lab.B, message[..length], BackToBack.EndpointA);
                Assert.NotEqual(InboundAction.WriteToTun, result.Action);
            }
        }

        var random = new Random(3);
        for (var i = 0; i < 2000; i++)
        {
            var garbage = new byte[random.Next(0, 300)];
            random.NextBytes(garbage);
            if (garbage.Length > 4 && i % 2 == 0)
            {
                garbage[0] = (byte)(1 + (i % 4));
                garbage[1] = garbage[2] = garbage[3] = 0;
            }

            Assert.NotEqual(InboundAction.WriteToTun, lab.Deliver(lab.B, garbage, BackToBack.EndpointA).Action);
        }

        Assert.True(lab.B.Counters.TotalDropped > 0);
    }

    [Fact]
    public void Initiation_FromUnknownPeer_IsDroppedAndCounted()
    {
        var lab = new BackToBack();
        var stranger = new BackToBack();
        stranger.Send(stranger.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        var initiation = stranger.OutboxA.Drain().Single();

        // B's static key differs from the stranger's B, so MAC1 fails first.
        lab.Deliver(lab.B, initiation, BackToBack.EndpointA);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.InvalidMac1));
        Assert.Equal(0, lab.OutboxB.Count);
    }

    [Fact]
    public void InnerPacket_FromAddressOutsideAllowedIps_IsDropped()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();

        lab.Send(lab.A, BackToBack.Udp4("10.0.0.9", "10.0.0.2", 10));
        lab.Pump();

        Assert.Single(lab.TunB);
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.SourceNotAllowed));
    }

    [Fact]
    public void EncryptOutbound_NoPeerForDestination_DropsAsNoRoute()
    {
        var lab = new BackToBack();
        Assert.Equal(OutboundAction.Dropped, lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.9.9.9", 10)).Action);
        Assert.Equal(1, lab.A.Counters.Dropped(DropReason.NoRoute));
    }

    [Fact]
    public void UnderLoad_InitiationWithoutMac2_GetsCookieReply_ThenRetrySucceeds()
    {
        var lab = new BackToBack();
        lab.B.ForceUnderLoad = true;
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();

        Assert.Equal(1, lab.OutboxB.CountSent(MessageType.CookieReply));
        Assert.Equal(1, lab.B.Counters.Dropped(DropReason.CookieRequired));
        Assert.Empty(lab.TunB);

        lab.TickFor(TimeSpan.FromSeconds(6), deliver: true);
        Assert.Single(lab.TunB);
    }

    [Fact]
    public void Roaming_AuthenticatedPacketFromNewAddress_UpdatesEndpoint()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        var moved = Meshwire.Core.EndpointAddress.FromBytes([198, 51, 100, 7], 4242);

        lab.Deliver(lab.B, lab.OutboxA.Drain().Single(), moved);

        Assert.Equal(moved, lab.B.Peers.Single().Endpoint);
        Assert.Equal(moved, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 10)).Destination);
    }

    [Fact]
    public void Responder_WithoutConfiguredEndpoint_LearnsItFromTheInitiation()
    {
        var lab = new BackToBack(configureEndpointOnB: false);
        Assert.Equal(OutboundAction.Staged, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 10)).Action);
        Assert.Equal(0, lab.OutboxB.Count);

        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();

        Assert.Equal(OutboundAction.Send, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 10)).Action);
    }

    [Fact]
    public void SteadyState_SealAndOpen_AllocateNothing()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 10));
        lab.Pump();

        var packet = BackToBack.Udp4("10.0.0.1", "10.0.0.2", 1300);
        var buffer = new byte[WireGuardDevice.HeadRoom + packet.Length + WireGuardDevice.TailRoom];
        void RoundTrip()
        {
            packet.CopyTo(buffer, WireGuardDevice.HeadRoom);
            var sealedResult = lab.A.EncryptOutbound(buffer, packet.Length, lab.Now);
            var opened = lab.B.ProcessInbound(buffer.AsSpan(0, sealedResult.Length), BackToBack.EndpointA, lab.Now);
            if (opened.Action != InboundAction.WriteToTun)
            {
                throw new InvalidOperationException(opened.ToString());
            }
        }

        for (var i = 0; i < 1000; i++)
        {
            RoundTrip();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            RoundTrip();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
