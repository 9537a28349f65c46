using System.Net;
using Meshwire.Core;
using Meshwire.Policy.Compile;
using Meshwire.Protocol;

namespace Meshwire.Control.State;

/// <summary>Immutable in-memory view of one node; replaced (never mutated) on every change.</summary>
internal sealed record NodeState
{
    public required long DbId { get; init; }

    public required string StableId { get; init; }

    public required string Name { get; init; }

    public string Hostname { get; init; } = "";

    public required long UserId { get; init; }

    public required string UserLogin { get; init; }

    public required MachinePublicKey MachineKey { get; init; }

    public required NodePublicKey NodeKey { get; init; }

    public DiscoPublicKey? DiscoKey { get; init; }

    public required IPAddress IPv4 { get; init; }

    public required IPAddress IPv6 { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];

    public IReadOnlyList<string> Endpoints { get; init; } = [];

    public int HomeRelay { get; init; }

    public bool Approved { get; init; }

    public bool Ephemeral { get; init; }

    public DateTimeOffset? KeyExpiry { get; init; }

    public bool Expired { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastSeen { get; init; }

    public bool Online { get; init; }

    /// <summary>True when the node belongs in maps: approved, not logged out or expired by an admin, key not past expiry.</summary>
    public bool IsActive(DateTimeOffset now) => Approved && !Expired && (KeyExpiry is not { } expiry || expiry > now);

    public PolicyNode ToPolicyNode() => new(new StableNodeId(StableId), Name, UserLogin, Tags, [IPv4, IPv6]);

    /// <summary>True when the policy engine sees a difference (name, owner, tags, addresses).</summary>
    public bool PolicyEquals(NodeState other) =>
        Name == other.Name && UserLogin == other.UserLogin && Tags.SequenceEqual(other.Tags) && IPv4.Equals(other.IPv4) && IPv6.Equals(other.IPv6);

    public WireNode ToWire()
    {
        string[] addresses = [$"{IPv4}/32", $"{IPv6}/128"];
        return new WireNode
        {
            Id = StableId,
            Name = Name,
            NodeKey = NodeKey,
            DiscoKey = DiscoKey,
            Addresses = addresses,
            AllowedIps = addresses,
            Endpoints = Endpoints,
            HomeRelay = HomeRelay,
            User = UserLogin,
            Tags = Tags,
            Online = Online,
            LastSeen = LastSeen,
            KeyExpiry = KeyExpiry,
        };
    }
}
