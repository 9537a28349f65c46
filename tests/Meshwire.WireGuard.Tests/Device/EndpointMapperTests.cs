using Meshwire.Core;
using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>With a path layer (IEndpointMapper) the device keeps the endpoint the layer names instead of roaming.</summary>
public sealed class EndpointMapperTests
{
    private static readonly EndpointAddress Virtual = EndpointAddress.FromBytes([0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1], 9);

    [Fact]
    public void Transport_FromNewAddress_KeepsTheMappedEndpointAndReportsTheSource()
    {
        var lab = new BackToBack();
        var mapper = new RecordingMapper();
        lab.B.EndpointMapper = mapper;
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        var moved = EndpointAddress.FromBytes([198, 51, 100, 7], 4242);

        lab.Deliver(lab.B, lab.OutboxA.Drain().Single(), moved);

        Assert.Equal(Virtual, lab.B.Peers.Single().Endpoint);
        Assert.Equal(Virtual, lab.Send(lab.B, BackToBack.Udp4("10.0.0.2", "10.0.0.1", 10)).Destination);
        Assert.Contains((X25519Keys.PublicKeyOf(lab.KeyA), moved), mapper.Seen);
    }

    [Fact]
    public void Initiation_ResponseGoesToTheMappedEndpoint()
    {
        var lab = new BackToBack(configureEndpointOnB: false);
        lab.B.EndpointMapper = new RecordingMapper();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));

        lab.Deliver(lab.B, lab.OutboxA.Drain().Single(), BackToBack.EndpointA);

        Assert.Equal(Virtual, lab.OutboxB.Destinations.Single());
        Assert.Equal(Virtual, lab.B.Peers.Single().Endpoint);
    }

    private sealed class RecordingMapper : IEndpointMapper
    {
        public List<(NodePublicKey, EndpointAddress)> Seen { get; } = [];

        public EndpointAddress OnAuthenticatedSource(NodePublicKey peer, EndpointAddress source, TimeSpan now)
        {
            Seen.Add((peer, source));
            return Virtual;
        }
    }
}

/// <summary>ExpediteHandshake: one early new initiation for a path layer whose first path lost the first one.</summary>
public sealed class ExpediteHandshakeTests
{
    [Fact]
    public void Expedite_UnansweredAfterMinimumAge_SendsOneNewInitiationOnly()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.OutboxA.Drain(); // the first initiation is lost
        var peerB = X25519Keys.PublicKeyOf(lab.KeyB);

        Assert.False(lab.A.ExpediteHandshake(peerB, TimeSpan.FromMilliseconds(500), lab.Now + TimeSpan.FromMilliseconds(100)));
        lab.Advance(TimeSpan.FromMilliseconds(600));
        Assert.True(lab.A.ExpediteHandshake(peerB, TimeSpan.FromMilliseconds(500), lab.Now));
        Assert.False(lab.A.ExpediteHandshake(peerB, TimeSpan.FromMilliseconds(500), lab.Now + TimeSpan.FromSeconds(1)));

        lab.Pump();
        Assert.Single(lab.TunB); // the staged packet went out once the expedited handshake completed
    }

    [Fact]
    public void Expedite_HandshakeCompleted_DoesNothing()
    {
        var lab = new BackToBack();
        lab.Send(lab.A, BackToBack.Udp4("10.0.0.1", "10.0.0.2", 10));
        lab.Pump();
        lab.Advance(TimeSpan.FromSeconds(1));
        Assert.False(lab.A.ExpediteHandshake(X25519Keys.PublicKeyOf(lab.KeyB), TimeSpan.FromMilliseconds(500), lab.Now));
    }
}
