using System.Text.Json;
using System.Text.Json.Serialization;

namespace Meshwire.Relay;

// The relay map as the coordination server serves it (JSON, camelCase). Until Meshwire.Protocol carries the
// wire type, this is the shape: regions keyed by id, each with its relays.
//   { "regions": { "1": { "regionId": 1, "regionCode": "par", "regionName": "Paris",
//       "nodes": [ { "name": "1a", "regionId": 1, "hostName": "relay1.example.net", "relayPort": 443, "stunPort": 3478 } ] } } }

/// <summary>Every relay region a node may use. Absent regions: the node has no relay.</summary>
public sealed record RelayMap
{
    public Dictionary<int, RelayRegion> Regions { get; init; } = [];

    public static RelayMap Parse(string json) =>
        JsonSerializer.Deserialize(json, RelayMapJsonContext.Default.RelayMap) ?? new RelayMap();

    public string ToJson() => JsonSerializer.Serialize(this, RelayMapJsonContext.Default.RelayMap);
}

/// <summary>Relays that mesh with each other; a node picks one region as home.</summary>
public sealed record RelayRegion
{
    public int RegionId { get; init; }

    /// <summary>Short code shown to users ("par").</summary>
    public string RegionCode { get; init; } = "";

    public string RegionName { get; init; } = "";

    /// <summary>Relays of the region, in preference order.</summary>
    public List<RelayNode> Nodes { get; init; } = [];
}

/// <summary>One relay server.</summary>
public sealed record RelayNode
{
    public string Name { get; init; } = "";

    public int RegionId { get; init; }

    public string HostName { get; init; } = "";

    /// <summary>Absent: resolve <see cref="HostName"/>.</summary>
    public string? IPv4 { get; init; }

    /// <summary>Absent: resolve <see cref="HostName"/>.</summary>
    public string? IPv6 { get; init; }

    /// <summary>HTTPS port of the relay; absent or 0 means 443.</summary>
    public int RelayPort { get; init; }

    /// <summary>UDP STUN port; absent or 0 means 3478, -1 means no STUN.</summary>
    public int StunPort { get; init; }

    /// <summary>Plain HTTP instead of HTTPS: loopback tests and labs only.</summary>
    public bool InsecureForTests { get; init; }

    /// <summary>The URL a <see cref="RelayClient"/> connects to.</summary>
    public Uri Url => new UriBuilder(InsecureForTests ? "http" : "https", IPv4 ?? HostName, RelayPort == 0 ? 443 : RelayPort).Uri;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RelayMap))]
internal sealed partial class RelayMapJsonContext : JsonSerializerContext;
