using Meshwire.Core;

namespace Meshwire.Protocol;

/// <summary>A node as other nodes (and itself) see it in a map.</summary>
public sealed record WireNode
{
    /// <summary>Stable id: survives key rotation and renames.</summary>
    public required string Id { get; init; }

    /// <summary>Unique short name in the tailnet (a DNS label).</summary>
    public required string Name { get; init; }

    public required NodePublicKey NodeKey { get; init; }

    /// <summary>Absent until the node has sent its first map request.</summary>
    public DiscoPublicKey? DiscoKey { get; init; }

    /// <summary>The node's tailnet addresses, one IPv4 /32 and one IPv6 /128.</summary>
    public required IReadOnlyList<string> Addresses { get; init; }

    /// <summary>Prefixes routed to this node (its addresses, plus subnet routes later).</summary>
    public required IReadOnlyList<string> AllowedIps { get; init; }

    /// <summary>Candidate direct UDP endpoints ("ip:port"); empty when unknown.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>Home relay region id; 0 when none is known yet.</summary>
    public int HomeRelay { get; init; }

    /// <summary>Login of the owning user; for tagged nodes the user who tagged it.</summary>
    public required string User { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public bool Online { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    /// <summary>When the node key stops being accepted; absent when it never expires.</summary>
    public DateTimeOffset? KeyExpiry { get; init; }
}

/// <summary>One inbound allow rule of the receiving node's packet filter.</summary>
public sealed record WireFilterRule
{
    /// <summary>Source prefixes ("100.64.0.0/10").</summary>
    public required IReadOnlyList<string> Sources { get; init; }

    public required IReadOnlyList<WireFilterDestination> Destinations { get; init; }

    /// <summary>IP protocol numbers; ports apply to TCP (6), UDP (17) and SCTP (132).</summary>
    public required IReadOnlyList<int> Protocols { get; init; }
}

public sealed record WireFilterDestination(string Prefix, int FirstPort, int LastPort);

/// <summary>
/// The relays nodes may use, by region: served by the coordination server (in every netmap and under
/// /api/v1/relays) and read by the relay client to pick a home region. Empty: the node has no relay.
/// </summary>
public sealed record RelayMap
{
    public IReadOnlyList<RelayRegion> Regions { get; init; } = [];

    public static RelayMap Parse(string json) =>
        System.Text.Json.JsonSerializer.Deserialize(json, ProtocolJsonContext.Default.RelayMap) ?? new RelayMap();

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, ProtocolJsonContext.Default.RelayMap);
}

/// <summary>Relays that mesh with each other; a node picks one region as home.</summary>
public sealed record RelayRegion
{
    public required int RegionId { get; init; }

    /// <summary>Short code shown to users ("par").</summary>
    public required string Code { get; init; }

    public string Name { get; init; } = "";

    /// <summary>Relays of the region, in preference order.</summary>
    public IReadOnlyList<RelayNode> Nodes { get; init; } = [];
}

/// <summary>One relay server.</summary>
public sealed record RelayNode
{
    /// <summary>Name shown in status and probes; the host name when absent.</summary>
    public string Name { get; init; } = "";

    public required string HostName { get; init; }

    /// <summary>Absent: resolve <see cref="HostName"/>.</summary>
    public string? IPv4 { get; init; }

    /// <summary>Absent: resolve <see cref="HostName"/>.</summary>
    public string? IPv6 { get; init; }

    /// <summary>HTTPS port of the relay.</summary>
    public int Port { get; init; } = 443;

    /// <summary>UDP STUN port; -1 means no STUN.</summary>
    public int StunPort { get; init; } = 3478;

    /// <summary>Plain HTTP instead of HTTPS: loopback tests and labs only.</summary>
    public bool InsecureForTests { get; init; }

    /// <summary>The URL a relay client connects to.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Uri Url => new UriBuilder(InsecureForTests ? "http" : "https", IPv4 ?? HostName, Port).Uri;
}

/// <summary>Name resolution inside the tailnet.</summary>
public sealed record DnsConfig
{
    /// <summary>Suffix of node names ("mesh.internal"): "laptop" is also "laptop.mesh.internal".</summary>
    public string Suffix { get; init; } = "";

    public IReadOnlyList<string> Nameservers { get; init; } = [];
}
