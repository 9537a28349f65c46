using System.Text.Json.Serialization;

namespace Meshwire.Agent.LocalApi;

// The JSON shapes of the LocalAPI (docs/localapi.md). camelCase, absent (null) fields left out, unknown fields in a
// request body refused (answers may grow fields; clients ignore what they do not know). Whois alone follows Tailscale's WhoIs field names, so tools written for it read it.

/// <summary>Every 4xx/5xx answer: <c>{"error":"..."}</c>.</summary>
public sealed record ErrorResponse(string Error);

/// <summary>GET status.</summary>
public sealed record StatusResponse
{
    /// <summary>One of NoState, NeedsLogin, NeedsMachineAuth, Stopped, Starting, Running.</summary>
    public required string BackendState { get; init; }

    /// <summary>Set while NeedsLogin waits for an interactive login at this URL.</summary>
    public string? AuthUrl { get; init; }

    /// <summary>The last failure to reach or register with control; absent when the last attempt worked.</summary>
    public string? LastError { get; init; }

    /// <summary>True while the map stream with control is open.</summary>
    public bool ControlConnected { get; init; }

    public required string Version { get; init; }

    /// <summary>The tailnet's DNS suffix ("mesh.internal"); absent without a map.</summary>
    public string? DnsSuffix { get; init; }

    public required SelfStatus Self { get; init; }

    /// <summary>Sorted by name.</summary>
    public required IReadOnlyList<PeerStatusInfo> Peers { get; init; }
}

/// <summary>This node. Without a map only <see cref="NodeKey"/> and <see cref="Hostname"/> are known.</summary>
public sealed record SelfStatus
{
    public string? Id { get; init; }

    /// <summary>The unique name control gave the node.</summary>
    public string? Name { get; init; }

    public string? DnsName { get; init; }

    /// <summary>The name asked for (prefs), which control may have made unique as <see cref="Name"/>.</summary>
    public string? Hostname { get; init; }

    public required string NodeKey { get; init; }

    /// <summary>Tailnet addresses without prefix length ("100.64.0.1", "fd7a:115c:a1e0::1").</summary>
    public required IReadOnlyList<string> Addresses { get; init; }

    public string? User { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public bool Online { get; init; }

    public DateTimeOffset? KeyExpiry { get; init; }
}

public sealed record PeerStatusInfo
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string DnsName { get; init; }

    public required IReadOnlyList<string> Addresses { get; init; }

    public required string NodeKey { get; init; }

    public required string User { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Connected to control, as control last said.</summary>
    public bool Online { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    public DateTimeOffset? KeyExpiry { get; init; }

    public required PathInfo Path { get; init; }

    /// <summary>Last completed WireGuard handshake; absent when there was none.</summary>
    public DateTimeOffset? LastHandshake { get; init; }

    public long RxBytes { get; init; }

    public long TxBytes { get; init; }
}

/// <summary>How packets to a peer travel: kind "direct" (with <see cref="Direct"/> ip:port), "relay" (with <see cref="RelayRegion"/>) or "none".</summary>
public sealed record PathInfo
{
    public required string Kind { get; init; }

    public string? Direct { get; init; }

    public string? RelayRegion { get; init; }

    public double? LatencyMs { get; init; }
}

/// <summary>GET and PATCH prefs.</summary>
public sealed record PrefsResponse
{
    public string? LoginServer { get; init; }

    public string? Hostname { get; init; }

    public bool WantRunning { get; init; }

    public IReadOnlyList<string> AdvertiseTags { get; init; } = [];

    /// <summary>True once control accepted this node (read only).</summary>
    public bool Registered { get; init; }
}

/// <summary>PATCH prefs body: absent fields stay as they are; unknown fields are refused.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record PrefsPatch
{
    public string? LoginServer { get; init; }

    public string? Hostname { get; init; }

    public bool? WantRunning { get; init; }

    public IReadOnlyList<string>? AdvertiseTags { get; init; }
}

/// <summary>POST up / login body (optional): absent fields keep the prefs; unknown fields are refused.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record UpBody
{
    public string? LoginServer { get; init; }

    public string? AuthKey { get; init; }

    public string? Hostname { get; init; }

    public IReadOnlyList<string>? AdvertiseTags { get; init; }
}

/// <summary>POST logout.</summary>
public sealed record LogoutResponse
{
    /// <summary>False when control could not be told; the node is logged out locally either way.</summary>
    public bool ControlNotified { get; init; }

    public string? Warning { get; init; }
}

/// <summary>A peer named in an answer.</summary>
public sealed record PeerRef(string Id, string Name);

/// <summary>POST ping.</summary>
public sealed record PingResponse
{
    /// <summary>The tailnet address pinged.</summary>
    public required string Ip { get; init; }

    public required PeerRef Peer { get; init; }

    public bool Replied { get; init; }

    public double? RttMs { get; init; }

    public required PathInfo Path { get; init; }

    public string? Error { get; init; }
}

/// <summary>GET netcheck.</summary>
public sealed record NetcheckResponse
{
    public bool Udp { get; init; }

    public string? MappedV4 { get; init; }

    public string? MappedV6 { get; init; }

    public bool? EndpointIndependentMapping { get; init; }

    public string? PreferredRelayRegion { get; init; }

    /// <summary>Round trip to each relay region that answered, by region code.</summary>
    public IReadOnlyDictionary<string, double> RelayLatencyMs { get; init; } = new Dictionary<string, double>();
}

/// <summary>GET version.</summary>
public sealed record VersionResponse(string Version, string Runtime);

/// <summary>GET whois: Tailscale's WhoIs shape (Node, UserProfile, CapMap).</summary>
public sealed record WhoIsResponse
{
    [JsonPropertyName("Node")]
    public required WhoIsNode Node { get; init; }

    [JsonPropertyName("UserProfile")]
    public required WhoIsUserProfile UserProfile { get; init; }

    /// <summary>Capabilities the node has towards this one; always empty in this version.</summary>
    [JsonPropertyName("CapMap")]
    public IReadOnlyDictionary<string, IReadOnlyList<string>> CapMap { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

public sealed record WhoIsNode
{
    /// <summary>The number within <see cref="StableID"/> (control's ids are "n" and 16 hex digits); 0 when it has none.</summary>
    [JsonPropertyName("ID")]
    public long ID { get; init; }

    [JsonPropertyName("StableID")]
    public required string StableID { get; init; }

    /// <summary>Fully qualified, with a trailing dot ("beta.mesh.internal.").</summary>
    [JsonPropertyName("Name")]
    public required string Name { get; init; }

    /// <summary>The owning user's <see cref="WhoIsUserProfile.ID"/>.</summary>
    [JsonPropertyName("User")]
    public long User { get; init; }

    [JsonPropertyName("Key")]
    public required string Key { get; init; }

    [JsonPropertyName("KeyExpiry")]
    public DateTimeOffset? KeyExpiry { get; init; }

    /// <summary>Prefixes ("100.64.0.2/32").</summary>
    [JsonPropertyName("Addresses")]
    public required IReadOnlyList<string> Addresses { get; init; }

    [JsonPropertyName("AllowedIPs")]
    public required IReadOnlyList<string> AllowedIPs { get; init; }

    [JsonPropertyName("Tags")]
    public IReadOnlyList<string> Tags { get; init; } = [];

    [JsonPropertyName("Online")]
    public bool Online { get; init; }

    [JsonPropertyName("ComputedName")]
    public required string ComputedName { get; init; }
}

public sealed record WhoIsUserProfile
{
    /// <summary>A stable number derived from the login name (control names users by login).</summary>
    [JsonPropertyName("ID")]
    public long ID { get; init; }

    [JsonPropertyName("LoginName")]
    public required string LoginName { get; init; }

    [JsonPropertyName("DisplayName")]
    public required string DisplayName { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(PrefsResponse))]
[JsonSerializable(typeof(PrefsPatch))]
[JsonSerializable(typeof(UpBody))]
[JsonSerializable(typeof(LogoutResponse))]
[JsonSerializable(typeof(PingResponse))]
[JsonSerializable(typeof(NetcheckResponse))]
[JsonSerializable(typeof(VersionResponse))]
[JsonSerializable(typeof(WhoIsResponse))]
public sealed partial class LocalApiJsonContext : JsonSerializerContext;
