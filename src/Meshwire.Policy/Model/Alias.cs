using System.Net;
using Meshwire.Policy.HuJson;

namespace Meshwire.Policy.Model;

public enum AliasKind
{
    /// <summary>"*": every node (as a source, every address).</summary>
    Wildcard,

    /// <summary>A user login such as alice@example.com: the user's untagged nodes.</summary>
    User,

    /// <summary>group:name, expanded to its users when the policy is parsed.</summary>
    Group,

    /// <summary>tag:name: nodes carrying the tag.</summary>
    Tag,

    /// <summary>A name from the hosts section, resolved to its prefix.</summary>
    Host,

    /// <summary>A literal IP address or CIDR prefix.</summary>
    Prefix,

    /// <summary>autogroup:member: untagged nodes of tailnet users.</summary>
    AutogroupMember,

    /// <summary>autogroup:tagged: every tagged node.</summary>
    AutogroupTagged,

    /// <summary>autogroup:self (destinations only): the source user's own untagged nodes.</summary>
    AutogroupSelf,
}

/// <summary>
/// One target from a src or dst list, resolved as far as the policy alone allows: groups carry their
/// member logins, host names carry their prefix. Matching against nodes happens in the compiler.
/// </summary>
public sealed record Alias(AliasKind Kind, string Text, TextPosition Position)
{
    /// <summary>For <see cref="AliasKind.Group"/>: the member logins.</summary>
    public IReadOnlyList<string> Users { get; init; } = [];

    /// <summary>For <see cref="AliasKind.Host"/> and <see cref="AliasKind.Prefix"/>.</summary>
    public IPNetwork Prefix { get; init; }

    public override string ToString() => Text;
}
