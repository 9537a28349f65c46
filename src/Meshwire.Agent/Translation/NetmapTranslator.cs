using System.Net;
using System.Net.Sockets;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Config;

namespace Meshwire.Agent.Translation;

/// <summary>
/// Turns a netmap into engine configuration (pure: no I/O, no clock).
/// Flow: NetmapView → <see cref="PeersOf"/> (the wanted peer table, keyed by node key) → <see cref="Diff"/> against
/// the table last applied → one <see cref="DeviceConfigUpdate"/> that adds, changes and removes only what differs.
/// Applying a diff instead of replace_peers keeps live sessions of unchanged peers (no new handshake per map).
/// Paths: with the path layer (meshwired) a peer's endpoint is its virtual endpoint and the layer picks direct or
/// relayed per datagram; without it (tests, plain use) the peer's first parseable direct endpoint.
/// </summary>
public static class NetmapTranslator
{
    /// <summary>Keeps NAT mappings open; the value wg-quick users know (wg(8) PersistentKeepalive).</summary>
    public const ushort PersistentKeepaliveSeconds = 25;

    /// <summary>The tailnet's IPv4 range (RFC 6598 shared address space), see docs/control.md "Addresses".</summary>
    public static readonly IPNetwork TailnetIPv4 = IPNetwork.Parse("100.64.0.0/10");

    /// <summary>The tailnet's IPv6 range (a ULA /48), see docs/control.md "Addresses".</summary>
    public static readonly IPNetwork TailnetIPv6 = IPNetwork.Parse("fd7a:115c:a1e0::/48");

    /// <summary>
    /// The peers the engine should hold for this map. Peers with this node's own key are skipped. With
    /// <paramref name="pathEndpoints"/> (the path layer's virtual endpoint per peer) each peer's endpoint is that one,
    /// so every datagram passes the path layer; without it, the peer's first direct endpoint from the map.
    /// </summary>
    public static IReadOnlyDictionary<NodePublicKey, EnginePeer> PeersOf(NetmapView view, IReadOnlyDictionary<NodePublicKey, EndpointAddress>? pathEndpoints = null)
    {
        var peers = new Dictionary<NodePublicKey, EnginePeer>();
        foreach (var node in view.Peers.Values)
        {
            if (node.NodeKey.IsZero || node.NodeKey == view.Self.NodeKey)
            {
                continue;
            }

            var allowed = new SortedSet<IPNetwork>(PrefixOrder.Instance);
            foreach (var text in node.Addresses.Concat(node.AllowedIps))
            {
                if (TryParsePrefix(text, out var prefix))
                {
                    allowed.Add(prefix);
                }
            }

            var endpoint = pathEndpoints is null ? FirstEndpoint(node)
                : pathEndpoints.TryGetValue(node.NodeKey, out var path) ? path.ToIPEndPoint() : null;
            peers[node.NodeKey] = new EnginePeer(node.NodeKey, [.. allowed], endpoint);
        }

        return peers;
    }

    /// <summary>The update turning <paramref name="applied"/> into <paramref name="wanted"/>; null when they are the same.</summary>
    public static DeviceConfigUpdate? Diff(IReadOnlyDictionary<NodePublicKey, EnginePeer> applied, IReadOnlyDictionary<NodePublicKey, EnginePeer> wanted)
    {
        var update = new DeviceConfigUpdate();
        foreach (var key in applied.Keys)
        {
            if (!wanted.ContainsKey(key))
            {
                update.Peers.Add(new PeerConfigUpdate(key) { Remove = true });
            }
        }

        foreach (var peer in wanted.Values)
        {
            if (applied.TryGetValue(peer.Key, out var old) && old.SameAs(peer))
            {
                continue;
            }

            var change = new PeerConfigUpdate(peer.Key)
            {
                // A map without an endpoint leaves the engine's (roamed or learned) one alone.
                Endpoint = peer.Endpoint,
                PersistentKeepaliveInterval = PersistentKeepaliveSeconds,
                ReplaceAllowedIps = true,
            };
            change.AllowedIps.AddRange(peer.AllowedIps);
            update.Peers.Add(change);
        }

        return update.Peers.Count == 0 ? null : update;
    }

    /// <summary>Self's addresses as host prefixes, and the two tailnet routes through the interface.</summary>
    public static InterfaceAddressing AddressingOf(WireNode self)
    {
        var addresses = new SortedSet<IPNetwork>(PrefixOrder.Instance);
        foreach (var text in self.Addresses)
        {
            if (TryParsePrefix(text, out var prefix))
            {
                var host = prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
                addresses.Add(new IPNetwork(prefix.BaseAddress, host));
            }
        }

        return new InterfaceAddressing([.. addresses], [TailnetIPv4, TailnetIPv6]);
    }

    /// <summary>"100.64.0.1/32" or a bare address (taken as a host prefix).</summary>
    public static bool TryParsePrefix(string text, out IPNetwork prefix)
    {
        if (text.Contains('/'))
        {
            return IPNetwork.TryParse(text, out prefix);
        }

        if (IPAddress.TryParse(text, out var address))
        {
            prefix = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        prefix = default;
        return false;
    }

    private static IPEndPoint? FirstEndpoint(WireNode node)
    {
        foreach (var text in node.Endpoints)
        {
            if (TryParseEndpoint(text, out var endpoint))
            {
                return endpoint;
            }
        }

        return null;
    }

    /// <summary>A map endpoint ("ip:port", "[v6]:port") with a port; anything else is skipped by its readers.</summary>
    public static bool TryParseEndpoint(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPEndPoint? endpoint) =>
        IPEndPoint.TryParse(text, out endpoint) && endpoint.Port != 0;

    /// <summary>IPv4 before IPv6, then by address bytes, then by length: a stable order for comparing tables.</summary>
    private sealed class PrefixOrder : IComparer<IPNetwork>
    {
        public static readonly PrefixOrder Instance = new();

        public int Compare(IPNetwork x, IPNetwork y)
        {
            var family = x.BaseAddress.AddressFamily.CompareTo(y.BaseAddress.AddressFamily);
            if (family != 0)
            {
                return family;
            }

            Span<byte> a = stackalloc byte[16];
            Span<byte> b = stackalloc byte[16];
            x.BaseAddress.TryWriteBytes(a, out var lengthA);
            y.BaseAddress.TryWriteBytes(b, out var lengthB);
            var bytes = a[..lengthA].SequenceCompareTo(b[..lengthB]);
            return bytes != 0 ? bytes : x.PrefixLength.CompareTo(y.PrefixLength);
        }
    }
}
