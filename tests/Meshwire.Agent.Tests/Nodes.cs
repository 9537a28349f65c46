using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Agent.Tests;

/// <summary>Builds wire nodes and maps for translator and store tests.</summary>
internal static class Nodes
{
    public static NodePublicKey NewKey() => X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());

    public static WireNode Node(int host, NodePublicKey? key = null, string[]? endpoints = null, string[]? extraAllowed = null) => new()
    {
        Id = $"n{host}",
        Name = $"node{host}",
        NodeKey = key ?? NewKey(),
        Addresses = [$"100.64.0.{host}/32", $"fd7a:115c:a1e0::{host:x}/128"],
        AllowedIps = [$"100.64.0.{host}/32", $"fd7a:115c:a1e0::{host:x}/128", .. extraAllowed ?? []],
        Endpoints = endpoints ?? [],
        User = "alice",
    };

    public static NetmapView Map(WireNode self, params WireNode[] peers) => NetmapView.From(new MapFull
    {
        Seq = 1,
        Self = self,
        Peers = peers,
        RelayMap = new RelayMap(),
        Dns = new DnsConfig { Suffix = "mesh.internal" },
        PacketFilter = [],
    });
}
