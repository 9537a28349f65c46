using System.Globalization;
using System.Net;
using Meshwire.Agent.Paths;
using Meshwire.Agent.Translation;
using Meshwire.Control.Client;
using Meshwire.Protocol;

namespace Meshwire.Agent.LocalApi;

/// <summary>Pure answers from a snapshot: status, whois, and finding the node that owns an address or a name.</summary>
public static class NetmapQueries
{
    public static StatusResponse Status(BackendSnapshot snapshot, IPeerPaths paths, string version)
    {
        var map = snapshot.Netmap;
        var suffix = map?.Dns.Suffix is { Length: > 0 } s ? s : null;
        var self = map?.Self;
        var engine = snapshot.Engine.Peers.ToDictionary(p => p.PublicKey);
        var peers = new List<PeerStatusInfo>();
        foreach (var node in map?.Peers.Values ?? [])
        {
            if (node.NodeKey == snapshot.SelfKey)
            {
                continue;
            }

            var wg = engine.GetValueOrDefault(node.NodeKey);
            peers.Add(new PeerStatusInfo
            {
                Id = node.Id,
                Name = node.Name,
                DnsName = DnsNameOf(node, suffix),
                Addresses = AddressesOf(node),
                NodeKey = node.NodeKey.ToString(),
                User = node.User,
                Tags = node.Tags,
                Online = node.Online,
                LastSeen = node.LastSeen,
                KeyExpiry = node.KeyExpiry,
                Path = PathOf(paths.PathOf(node.NodeKey)),
                LastHandshake = wg?.LastHandshake,
                RxBytes = wg?.RxBytes ?? 0,
                TxBytes = wg?.TxBytes ?? 0,
            });
        }

        peers.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new StatusResponse
        {
            BackendState = snapshot.State.ToString(),
            AuthUrl = snapshot.AuthUrl,
            LastError = snapshot.LastError,
            ControlConnected = snapshot.ControlConnected,
            Version = version,
            DnsSuffix = suffix,
            Self = new SelfStatus
            {
                Id = self?.Id,
                Name = self?.Name,
                DnsName = self is null ? null : DnsNameOf(self, suffix),
                Hostname = snapshot.Prefs.Hostname,
                NodeKey = snapshot.SelfKey.ToString(),
                Addresses = self is null ? [] : AddressesOf(self),
                User = self?.User,
                Tags = self?.Tags ?? [],
                Online = snapshot.ControlConnected,
                KeyExpiry = self?.KeyExpiry,
            },
            Peers = peers,
        };
    }

    /// <summary>The node (self or a peer) one of whose tailnet addresses is <paramref name="address"/>.</summary>
    public static WireNode? OwnerOf(NetmapView? map, IPAddress address)
    {
        if (map is null)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (Owns(map.Self, address))
        {
            return map.Self;
        }

        return map.Peers.Values.FirstOrDefault(p => Owns(p, address));
    }

    /// <summary>A peer by its name or DNS name (case-insensitive, a trailing dot allowed).</summary>
    public static WireNode? PeerNamed(NetmapView? map, string name)
    {
        if (map is null)
        {
            return null;
        }

        name = name.TrimEnd('.');
        var suffix = map.Dns.Suffix is { Length: > 0 } s ? s : null;
        return map.Peers.Values.FirstOrDefault(p => p.NodeKey != map.Self.NodeKey
            && (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(DnsNameOf(p, suffix), name, StringComparison.OrdinalIgnoreCase)));
    }

    public static WhoIsResponse WhoIs(WireNode node, NetmapView map)
    {
        var suffix = map.Dns.Suffix is { Length: > 0 } s ? s : null;
        var dnsName = DnsNameOf(node, suffix);
        var userId = UserIdOf(node.User);
        return new WhoIsResponse
        {
            Node = new WhoIsNode
            {
                ID = NumericIdOf(node.Id),
                StableID = node.Id,
                Name = dnsName + ".",
                User = userId,
                Key = node.NodeKey.ToString(),
                KeyExpiry = node.KeyExpiry,
                Addresses = node.Addresses,
                AllowedIPs = node.AllowedIps,
                Tags = node.Tags,
                Online = ReferenceEquals(node, map.Self) || node.Online,
                ComputedName = node.Name,
            },
            UserProfile = new WhoIsUserProfile { ID = userId, LoginName = node.User, DisplayName = node.User },
        };
    }

    public static PathInfo PathOf(PeerPathInfo path) => new()
    {
        Kind = path.Kind switch { PathKind.Direct => "direct", PathKind.Relay => "relay", _ => "none" },
        Direct = path.Kind == PathKind.Direct ? path.Direct?.ToString() : null,
        RelayRegion = path.Kind == PathKind.Relay ? path.RelayRegion : null,
        LatencyMs = path.Latency?.TotalMilliseconds,
    };

    public static string DnsNameOf(WireNode node, string? suffix) => suffix is null ? node.Name : $"{node.Name}.{suffix}";

    /// <summary>The node's tailnet addresses without prefix lengths, IPv4 first as control lists them.</summary>
    public static IReadOnlyList<string> AddressesOf(WireNode node) =>
        [.. node.Addresses.Select(a => NetmapTranslator.TryParsePrefix(a, out var p) ? p.BaseAddress.ToString() : a)];

    /// <summary>Control's stable ids are "n" and 16 hex digits; their number (without the sign bit) is the numeric id.</summary>
    public static long NumericIdOf(string stableId) =>
        stableId.Length > 1 && ulong.TryParse(stableId.AsSpan(1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
            ? (long)(value & long.MaxValue)
            : 0;

    /// <summary>FNV-1a of the login name (without the sign bit): stable across runs and nodes.</summary>
    public static long UserIdOf(string login)
    {
        var hash = 14695981039346656037UL;
        foreach (var c in login)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        return (long)(hash & long.MaxValue);
    }

    private static bool Owns(WireNode node, IPAddress address) =>
        node.Addresses.Any(a => NetmapTranslator.TryParsePrefix(a, out var p) && p.BaseAddress.Equals(address));
}
