using System.Net;

namespace Meshwire.Policy.Compile;

/// <summary>The control server's stable id of a node; survives key rotation and renames.</summary>
public readonly record struct StableNodeId(string Value)
{
    public override string ToString() => Value;
}

/// <summary>
/// What the policy needs to know about a node. A tagged node (Tags not empty) belongs to its tags, not to
/// <see cref="OwnerLogin"/>: user aliases, groups, autogroup:member and autogroup:self never match it,
/// as Tailscale documents for tagged devices.
/// </summary>
public sealed record PolicyNode(
    StableNodeId Id,
    string Name,
    string OwnerLogin,
    IReadOnlyList<string> Tags,
    IReadOnlyList<IPAddress> Addresses)
{
    public bool IsTagged => Tags.Count > 0;

    /// <summary>True for a user's own (untagged) node; the only kind user-based aliases match.</summary>
    public bool IsUserOwned => !IsTagged && !string.IsNullOrEmpty(OwnerLogin);

    public override string ToString() => Name;
}
