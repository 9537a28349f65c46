using Meshwire.Agent.Paths;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Agent.Tests.Paths;

public sealed class VirtualEndpointsTests
{
    private static NodePublicKey NewKey() => X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());

    [Fact]
    public void With_NewPeers_DistinctEndpointsInsideTheReservedPrefixBothWays()
    {
        var (a, b) = (NewKey(), NewKey());
        var set = VirtualEndpoints.Empty.With([a, b]);

        Assert.True(set.TryGetEndpoint(a, out var ea));
        Assert.True(set.TryGetEndpoint(b, out var eb));
        Assert.NotEqual(ea, eb);
        Assert.True(set.TryGetPeer(ea, out var back) && back == a);
        Assert.StartsWith("[fd7a:115c:a1e0:ffff:", ea.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void With_PeerStays_KeepsItsEndpoint_RemovedPeerForgotten_NewPeerNeverReusesAnIndex()
    {
        var (a, b, c) = (NewKey(), NewKey(), NewKey());
        var first = VirtualEndpoints.Empty.With([a, b]);
        first.TryGetEndpoint(a, out var ea);
        first.TryGetEndpoint(b, out var eb);

        var second = first.With([a, c]);

        Assert.True(second.TryGetEndpoint(a, out var ea2) && ea2 == ea);
        Assert.False(second.TryGetEndpoint(b, out _));
        Assert.False(second.TryGetPeer(eb, out _));
        Assert.True(second.TryGetEndpoint(c, out var ec));
        Assert.NotEqual(eb, ec);
    }

    [Fact]
    public void TryGetPeer_RealAddress_False()
    {
        var set = VirtualEndpoints.Empty.With([NewKey()]);
        Assert.False(set.TryGetPeer(EndpointAddress.FromBytes([10, 0, 0, 1], 41641), out _));
    }
}
