namespace Meshwire.Control.Data;

// Rows of the control database. Keys are stored as their printed form ("nodekey:<hex>") so that a row read by a
// human or by psql says what it is; secrets (auth keys, API keys) are stored only as SHA-256 hashes.
// Times are UTC DateTimeOffsets (SQLite stores them as ISO text, PostgreSQL as timestamptz).

internal sealed class UserRow
{
    public long Id { get; set; }

    /// <summary>Unique login ("alice@example.com" or a local name).</summary>
    public required string Login { get; set; }

    public string DisplayName { get; set; } = "";

    /// <summary>"local" or the OIDC issuer the user logged in through.</summary>
    public string Provider { get; set; } = "local";

    /// <summary>OIDC subject; empty for local users.</summary>
    public string Subject { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}

internal sealed class AuthKeyRow
{
    public long Id { get; set; }

    /// <summary>Public, unique part of the key ("mwauth-&lt;prefix&gt;-&lt;secret&gt;"), used to find the row.</summary>
    public required string Prefix { get; set; }

    /// <summary>SHA-256 of the whole key text, hex.</summary>
    public required string Hash { get; set; }

    public long UserId { get; set; }

    public bool Reusable { get; set; }

    public bool Ephemeral { get; set; }

    /// <summary>Tags given to nodes that join with this key, comma separated ("tag:a,tag:b").</summary>
    public string Tags { get; set; } = "";

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public int UseCount { get; set; }

    public bool Revoked { get; set; }
}

internal sealed class NodeRow
{
    public long Id { get; set; }

    /// <summary>Stable id handed to nodes ("n" + 16 hex); survives renames and key rotation.</summary>
    public required string StableId { get; set; }

    public required string Name { get; set; }

    public string Hostname { get; set; } = "";

    public long UserId { get; set; }

    public required string MachineKey { get; set; }

    public required string NodeKey { get; set; }

    public string? DiscoKey { get; set; }

    public required string IPv4 { get; set; }

    public required string IPv6 { get; set; }

    public string Tags { get; set; } = "";

    /// <summary>Direct endpoints, comma separated.</summary>
    public string Endpoints { get; set; } = "";

    public int HomeRelay { get; set; }

    public bool Approved { get; set; }

    public bool Ephemeral { get; set; }

    /// <summary>Null: never expires (tagged nodes).</summary>
    public DateTimeOffset? KeyExpiry { get; set; }

    /// <summary>Set by logout or `nodes expire`: the key is out of every map until it registers again.</summary>
    public bool Expired { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? LastSeen { get; set; }

    public long? AuthKeyId { get; set; }
}

internal sealed class ApiKeyRow
{
    public long Id { get; set; }

    public required string Prefix { get; set; }

    public required string Hash { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Recorded at most once a minute per key (a write per request would cost more than it tells).</summary>
    public DateTimeOffset? LastUsed { get; set; }

    /// <summary>Optional label given at creation; empty when none.</summary>
    public string Name { get; set; } = "";

    /// <summary>Who created the key: "admin" (the CLI or the admin socket) or "apikey:&lt;prefix&gt;".</summary>
    public string CreatedBy { get; set; } = "";

    /// <summary>The API key that created this one; revoking it revokes this key too. Null for keys an admin created.</summary>
    public long? CreatedByKeyId { get; set; }

    /// <summary>Set by revocation: the key is refused from then on. Null while the key is live.</summary>
    public DateTimeOffset? RevokedAt { get; set; }
}

internal sealed class PolicyRow
{
    /// <summary>Always 1: one policy per tailnet.</summary>
    public long Id { get; set; }

    public required string Text { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

internal sealed class RelayRow
{
    public long Id { get; set; }

    public int RegionId { get; set; }

    public required string RegionCode { get; set; }

    public string RegionName { get; set; } = "";

    public required string HostName { get; set; }

    public string? IPv4 { get; set; }

    /// <summary>Plain HTTP instead of HTTPS (labs and loopback only): RelayNode.InsecureForTests in maps.</summary>
    public bool InsecureHttp { get; set; }

    public string? IPv6 { get; set; }

    public int Port { get; set; } = 443;

    public int StunPort { get; set; } = 3478;
}

internal sealed class SchemaVersionRow
{
    public int Version { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset AppliedAt { get; set; }
}
