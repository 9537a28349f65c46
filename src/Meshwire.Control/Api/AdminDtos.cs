namespace Meshwire.Control.Api;

// Bodies of the admin API (/api/v1) and what the admin CLI prints with --json. Secrets appear only in the answer
// to the request that created them.

public sealed record UserInfo(long Id, string Login, string DisplayName, string Provider, DateTimeOffset CreatedAt);

public sealed record CreateUserRequest(string Login, string? DisplayName);

public sealed record AuthKeyInfo(
    long Id,
    string Prefix,
    string User,
    bool Reusable,
    bool Ephemeral,
    IReadOnlyList<string> Tags,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt,
    int UseCount,
    bool Revoked,
    string? Key = null);

public sealed record CreateAuthKeyRequest(string User, bool Reusable = false, bool Ephemeral = false, IReadOnlyList<string>? Tags = null, int ExpirySeconds = 3600);

public sealed record NodeInfo(
    string Id,
    string Name,
    string Hostname,
    string User,
    string MachineKey,
    string NodeKey,
    string IPv4,
    string IPv6,
    IReadOnlyList<string> Tags,
    bool Approved,
    bool Ephemeral,
    bool Expired,
    DateTimeOffset? KeyExpiry,
    bool Online,
    DateTimeOffset? LastSeen,
    DateTimeOffset CreatedAt);

public sealed record RenameNodeRequest(string Name);

/// <summary>
/// An API key as listed: never its secret, except in the answer that created it (<paramref name="Key"/>).
/// <paramref name="CreatedBy"/>: "admin" or "apikey:&lt;prefix&gt;". <paramref name="LastUsed"/>: to the minute.
/// <paramref name="RevokedAt"/>: null while the key is live.
/// </summary>
public sealed record ApiKeyInfo(
    long Id,
    string Prefix,
    string Name,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? LastUsed,
    DateTimeOffset? RevokedAt,
    string? Key = null);

/// <summary>
/// <paramref name="ExpirySeconds"/>: absent for the longest life allowed (the server's maximum, and no later than the
/// creating key's expiry); a longer one is refused. <paramref name="Name"/>: an optional label.
/// </summary>
public sealed record CreateApiKeyRequest(int? ExpirySeconds = null, string? Name = null);

public sealed record PolicyInfo(string Text, DateTimeOffset? UpdatedAt);

public sealed record SetPolicyRequest(string Text);

public sealed record PolicyCheckResult(bool Ok, string Output);

/// <summary>One relay of the relay map. <paramref name="InsecureHttp"/>: nodes connect over plain HTTP (labs and loopback only).</summary>
public sealed record RelayInfo(int RegionId, string RegionCode, string RegionName, string HostName, string? IPv4, string? IPv6, int Port, int StunPort, bool InsecureHttp = false);

public sealed record ExplainRequest(string Source, string Destination, string Protocol = "tcp");

public sealed record ExplainInfo(bool Allowed, string Message);

/// <summary>Error body of every failed admin request: a stable code (Meshwire.Protocol.ErrorCodes) and a message.</summary>
public sealed record ApiError(string Code, string Message);
