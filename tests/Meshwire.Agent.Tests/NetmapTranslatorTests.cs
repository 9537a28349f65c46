using System.Net;
using Meshwire.Agent.Translation;
using Meshwire.Core;

namespace Meshwire.Agent.Tests;

public sealed class NetmapTranslatorTests
{
    private static readonly IReadOnlyDictionary<NodePublicKey, EnginePeer> Empty = new Dictionary<NodePublicKey, EnginePeer>();

    [Fact]
    public void PeersOf_Peer_AllowsTailnetAddressesAndRoutes()
    {
        var peer = Nodes.Node(2, extraAllowed: ["192.168.7.0/24"]);
        var peers = NetmapTranslator.PeersOf(Nodes.Map(Nodes.Node(1), peer));

        var table = Assert.Single(peers.Values);
        Assert.Equal(peer.NodeKey, table.Key);
        Assert.Equal(
            [IPNetwork.Parse("100.64.0.2/32"), IPNetwork.Parse("192.168.7.0/24"), IPNetwork.Parse("fd7a:115c:a1e0::2/128")],
            table.AllowedIps);
    }

    [Fact]
    public void PeersOf_SeveralEndpoints_TakesFirstParseable()
    {
        var peer = Nodes.Node(2, endpoints: ["not-an-endpoint", "10.0.0.2:41641", "10.0.0.3:41641"]);
        var table = Assert.Single(NetmapTranslator.PeersOf(Nodes.Map(Nodes.Node(1), peer)).Values);
        Assert.Equal(IPEndPoint.Parse("10.0.0.2:41641"), table.Endpoint);
    }

    [Fact]
    public void PeersOf_NoEndpoint_LeavesEndpointUnset()
    {
        var table = Assert.Single(NetmapTranslator.PeersOf(Nodes.Map(Nodes.Node(1), Nodes.Node(2))).Values);
        Assert.Null(table.Endpoint);
    }

    [Fact]
    public void PeersOf_PeerWithSelfKey_IsSkipped()
    {
        var self = Nodes.Node(1);
        Assert.Empty(NetmapTranslator.PeersOf(Nodes.Map(self, Nodes.Node(2, key: self.NodeKey))));
    }

    [Fact]
    public void Diff_NewPeers_AddsEachWithKeepaliveAndReplacedAllowedIps()
    {
        var a = Nodes.Node(2, endpoints: ["10.0.0.2:41641"]);
        var b = Nodes.Node(3);
        var update = NetmapTranslator.Diff(Empty, NetmapTranslator.PeersOf(Nodes.Map(Nodes.Node(1), a, b)));

        Assert.NotNull(update);
        Assert.False(update.ReplacePeers);
        Assert.Null(update.PrivateKey);
        Assert.Equal(2, update.Peers.Count);
        var added = update.Peers.Single(p => p.PublicKey == a.NodeKey);
        Assert.False(added.Remove);
        Assert.True(added.ReplaceAllowedIps);
        Assert.Equal(NetmapTranslator.PersistentKeepaliveSeconds, added.PersistentKeepaliveInterval);
        Assert.Equal(IPEndPoint.Parse("10.0.0.2:41641"), added.Endpoint);
        Assert.Equal(2, added.AllowedIps.Count);
    }

    [Fact]
    public void Diff_SameMapTwice_ReturnsNull()
    {
        var map = Nodes.Map(Nodes.Node(1), Nodes.Node(2, endpoints: ["10.0.0.2:41641"]), Nodes.Node(3));
        Assert.Null(NetmapTranslator.Diff(NetmapTranslator.PeersOf(map), NetmapTranslator.PeersOf(map)));
    }

    [Fact]
    public void Diff_OnePeerChangedEndpoint_UpdatesOnlyThatPeer()
    {
        var self = Nodes.Node(1);
        var a = Nodes.Node(2, endpoints: ["10.0.0.2:41641"]);
        var b = Nodes.Node(3);
        var before = NetmapTranslator.PeersOf(Nodes.Map(self, a, b));
        var after = NetmapTranslator.PeersOf(Nodes.Map(self, a with { Endpoints = ["10.0.0.9:41641"] }, b));

        var update = NetmapTranslator.Diff(before, after);

        var change = Assert.Single(update!.Peers);
        Assert.Equal(a.NodeKey, change.PublicKey);
        Assert.Equal(IPEndPoint.Parse("10.0.0.9:41641"), change.Endpoint);
    }

    [Fact]
    public void Diff_PeerGainsRoute_ReplacesItsAllowedIps()
    {
        var self = Nodes.Node(1);
        var a = Nodes.Node(2);
        var before = NetmapTranslator.PeersOf(Nodes.Map(self, a));
        var after = NetmapTranslator.PeersOf(Nodes.Map(self, a with { AllowedIps = [.. a.AllowedIps, "10.9.0.0/16"] }));

        var change = Assert.Single(NetmapTranslator.Diff(before, after)!.Peers);
        Assert.True(change.ReplaceAllowedIps);
        Assert.Contains(IPNetwork.Parse("10.9.0.0/16"), change.AllowedIps);
    }

    [Fact]
    public void Diff_PeerLeaves_RemovesIt()
    {
        var self = Nodes.Node(1);
        var a = Nodes.Node(2);
        var b = Nodes.Node(3);
        var update = NetmapTranslator.Diff(NetmapTranslator.PeersOf(Nodes.Map(self, a, b)), NetmapTranslator.PeersOf(Nodes.Map(self, b)));

        var removal = Assert.Single(update!.Peers);
        Assert.Equal(a.NodeKey, removal.PublicKey);
        Assert.True(removal.Remove);
    }

    [Fact]
    public void Diff_PeerRotatesNodeKey_RemovesOldKeyAndAddsNew()
    {
        var self = Nodes.Node(1);
        var a = Nodes.Node(2);
        var rotated = a with { NodeKey = Nodes.NewKey() };
        var update = NetmapTranslator.Diff(NetmapTranslator.PeersOf(Nodes.Map(self, a)), NetmapTranslator.PeersOf(Nodes.Map(self, rotated)));

        Assert.Equal(2, update!.Peers.Count);
        Assert.Contains(update.Peers, p => p.PublicKey == a.NodeKey && p.Remove);
        Assert.Contains(update.Peers, p => p.PublicKey == rotated.NodeKey && !p.Remove);
    }

    [Fact]
    public void AddressingOf_Self_HostPrefixesAndTailnetRoutes()
    {
        var addressing = NetmapTranslator.AddressingOf(Nodes.Node(7));

        Assert.Equal([IPNetwork.Parse("100.64.0.7/32"), IPNetwork.Parse("fd7a:115c:a1e0::7/128")], addressing.Addresses);
        Assert.Equal([IPNetwork.Parse("100.64.0.0/10"), IPNetwork.Parse("fd7a:115c:a1e0::/48")], addressing.Routes);
    }

    [Theory]
    [InlineData("100.64.0.3", "100.64.0.3/32")]
    [InlineData("fd7a:115c:a1e0::3", "fd7a:115c:a1e0::3/128")]
    [InlineData("10.1.0.0/16", "10.1.0.0/16")]
    public void TryParsePrefix_BareOrPrefixed_ReturnsPrefix(string text, string expected)
    {
        Assert.True(NetmapTranslator.TryParsePrefix(text, out var prefix));
        Assert.Equal(IPNetwork.Parse(expected), prefix);
    }

    [Fact]
    public void TryParsePrefix_Garbage_ReturnsFalse() => Assert.False(NetmapTranslator.TryParsePrefix("nope/33", out _));
}
