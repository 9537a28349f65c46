using Meshwire.Policy.HuJson;

namespace Meshwire.Policy.Model;

public enum SshAction
{
    Accept,

    /// <summary>Accept after the user re-authenticated within <see cref="SshRule.CheckPeriod"/>.</summary>
    Check,
}

/// <summary>An "ssh" entry: who (src) may log in to which nodes (dst) as which local users.</summary>
public sealed record SshRule(
    int Index,
    TextPosition Position,
    SshAction Action,
    IReadOnlyList<Alias> Sources,
    IReadOnlyList<Alias> Destinations,
    IReadOnlyList<string> Users,
    TimeSpan? CheckPeriod);
