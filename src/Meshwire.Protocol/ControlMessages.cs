using System.Text.Json.Serialization;
using Meshwire.Core;

namespace Meshwire.Protocol;

// The messages of the control channel (docs/protocol.md "Control protocol"). Each sealed frame of the channel
// carries exactly one message as UTF-8 JSON with a "type" discriminator. Absent optional fields mean "unchanged"
// in deltas and "none" elsewhere, as each field says.
//
// Client -> server: register, map.   Server -> client: register-result, map-full, map-delta, keepalive, error.

[JsonPolymorphic(TypeDiscriminatorPropertyName = "type", UnknownDerivedTypeHandling = JsonUnknownDerivedTypeHandling.FailSerialization)]
[JsonDerivedType(typeof(RegisterRequest), "register")]
[JsonDerivedType(typeof(MapRequest), "map")]
[JsonDerivedType(typeof(RegisterResult), "register-result")]
[JsonDerivedType(typeof(MapFull), "map-full")]
[JsonDerivedType(typeof(MapDelta), "map-delta")]
[JsonDerivedType(typeof(KeepAlive), "keepalive")]
[JsonDerivedType(typeof(ErrorMessage), "error")]
public abstract record ControlMessage;

/// <summary>
/// Registers (or re-registers, renews, logs out) the node key of the authenticated machine.
/// With <see cref="AuthKey"/> the node joins at once; without it the server answers with a login URL
/// (OIDC) unless the machine is already registered with this node key.
/// </summary>
public sealed record RegisterRequest : ControlMessage
{
    public required NodePublicKey NodeKey { get; init; }

    /// <summary>The key being replaced when rotating; absent on first registration.</summary>
    public NodePublicKey? OldNodeKey { get; init; }

    /// <summary>A pre-auth key ("mwauth-..."); absent for interactive login or renewal.</summary>
    public string? AuthKey { get; init; }

    public required string Hostname { get; init; }

    /// <summary>
    /// Tags the node asks for (meshwire up --advertise-tags): each must be one of the auth key's tags or owned by the
    /// node's user in the policy's tagOwners. Absent keeps the node's tags; empty drops the advertised ones.
    /// </summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>True to log out: the node's key leaves every peer's map and the node is expired.</summary>
    public bool Logout { get; init; }

    /// <summary>
    /// Proof that the sender holds the private half of <see cref="NodeKey"/> (docs/protocol.md "Node key proof"):
    /// 64 hex digits, HMAC-SHA256 keyed from DH(node private, server public) over the machine, node and server keys.
    /// Required on every registration except a logout; absent is refused with <see cref="ErrorCodes.NodeKeyProofMissing"/>.
    /// </summary>
    public string? NodeKeyProof { get; init; }
}

/// <summary>The server's answer to <see cref="RegisterRequest"/>.</summary>
public sealed record RegisterResult : ControlMessage
{
    /// <summary>True when the node key is registered, approved and not expired: the node may stream its map.</summary>
    public bool Authorized { get; init; }

    /// <summary>True when registered but waiting for an admin to approve it.</summary>
    public bool NeedsApproval { get; init; }

    /// <summary>Set when the user must log in interactively; the node registers again after logging in.</summary>
    public string? AuthUrl { get; init; }

    public string? NodeId { get; init; }

    public string? User { get; init; }

    public DateTimeOffset? KeyExpiry { get; init; }
}

/// <summary>Asks for the node's map. With <see cref="Stream"/> the server keeps sending deltas and keepalives.</summary>
public sealed record MapRequest : ControlMessage
{
    public required NodePublicKey NodeKey { get; init; }

    public required DiscoPublicKey DiscoKey { get; init; }

    /// <summary>UDP endpoints ("ip:port") where the node may be reached directly; absent keeps the stored ones.</summary>
    public IReadOnlyList<string>? Endpoints { get; init; }

    /// <summary>The relay region the node is attached to; 0 or absent keeps the stored one.</summary>
    public int HomeRelay { get; init; }

    public bool Stream { get; init; }
}

/// <summary>A complete netmap: the first message of every stream and the answer to a non-streaming request.</summary>
public sealed record MapFull : ControlMessage
{
    /// <summary>Position in this stream; deltas continue from it (each message of a stream has Seq+1).</summary>
    public long Seq { get; init; }

    public required WireNode Self { get; init; }

    public required IReadOnlyList<WireNode> Peers { get; init; }

    public required RelayMap RelayMap { get; init; }

    public required DnsConfig Dns { get; init; }

    public required IReadOnlyList<WireFilterRule> PacketFilter { get; init; }

    /// <summary>Interval at which the server sends keepalives when it has nothing else to send.</summary>
    public int KeepAliveSeconds { get; init; }
}

/// <summary>
/// Changes since the previous message of the stream. Applied in order: <see cref="PeersRemoved"/>, then
/// <see cref="PeersChanged"/> (replace by <see cref="WireNode.Id"/> or add). Absent fields are unchanged.
/// </summary>
public sealed record MapDelta : ControlMessage
{
    public long Seq { get; init; }

    public IReadOnlyList<WireNode>? PeersChanged { get; init; }

    public IReadOnlyList<string>? PeersRemoved { get; init; }

    public WireNode? Self { get; init; }

    public IReadOnlyList<WireFilterRule>? PacketFilter { get; init; }

    public RelayMap? RelayMap { get; init; }

    public DnsConfig? Dns { get; init; }
}

/// <summary>Sent when a stream has been idle for the keepalive interval; tells the node the server is alive.</summary>
public sealed record KeepAlive : ControlMessage
{
    public long Seq { get; init; }
}

/// <summary>A request failed; <see cref="Code"/> is one of <see cref="ErrorCodes"/>. The channel stays open unless said otherwise.</summary>
public sealed record ErrorMessage : ControlMessage
{
    public required string Code { get; init; }

    public required string Message { get; init; }

    /// <summary>
    /// With <see cref="ErrorCodes.RateLimited"/>: seconds to wait before sending the refused request again (at least
    /// 1). Absent on other errors.
    /// </summary>
    public int? RetryAfterSeconds { get; init; }
}

/// <summary>Stable error codes shared by the control channel and the admin API.</summary>
public static class ErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string TooLarge = "too_large";
    public const string Unauthorized = "unauthorized";
    public const string NotFound = "not_found";
    public const string Conflict = "conflict";
    public const string AuthKeyInvalid = "authkey_invalid";
    public const string AuthKeyExpired = "authkey_expired";
    public const string AuthKeyUsed = "authkey_used";
    public const string UnknownMachine = "unknown_machine";
    public const string NodeKeyExpired = "nodekey_expired";
    public const string NotApproved = "not_approved";
    public const string PolicyInvalid = "policy_invalid";

    /// <summary>A node advertised a tag that neither its auth key nor the policy's tagOwners give its user.</summary>
    public const string TagNotOwned = "tag_not_owned";

    /// <summary>Too many requests from this source address or with this auth key; retry after the hinted delay.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>A register message without a node key proof (a client older than the proof).</summary>
    public const string NodeKeyProofMissing = "nodekey_proof_missing";

    /// <summary>The node key proof does not verify: the sender does not hold the node key's private half.</summary>
    public const string NodeKeyProofInvalid = "nodekey_proof_invalid";

    /// <summary>A public key (node, machine or disco) is a low-order point of Curve25519: no DH with it is secret.</summary>
    public const string WeakKey = "weak_key";

    /// <summary>The server failed to handle a well-formed request; the channel stays open and nothing was written.</summary>
    public const string Internal = "internal";
}
