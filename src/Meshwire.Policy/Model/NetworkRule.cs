using Meshwire.Policy.HuJson;

namespace Meshwire.Policy.Model;

public enum RuleSection
{
    /// <summary>The allow-all rule used when the policy has neither acls nor grants.</summary>
    Default,
    Acls,
    Grants,
}

/// <summary>
/// One network-level allow rule, the common form of an "acls" entry and a "grants" entry with "ip".
/// Traffic from any <see cref="Sources"/> to any target is allowed on the target's protocols and ports.
/// </summary>
public sealed record NetworkRule(
    RuleSection Section,
    int Index,
    TextPosition Position,
    IReadOnlyList<Alias> Sources,
    IReadOnlyList<RuleTarget> Targets)
{
    /// <summary>"acls[3]" or "grants[0]", how reports name the rule.</summary>
    public string Name => Section == RuleSection.Default ? "default allow-all rule" : $"{(Section == RuleSection.Acls ? "acls" : "grants")}[{Index}]";

    public override string ToString() => Position.IsKnown ? $"{Name} at line {Position.Line}, column {Position.Column}" : Name;
}

/// <summary>A destination of a rule with the protocols and ports it opens there.</summary>
public sealed record RuleTarget(Alias Destination, ProtocolSet Protocols, IReadOnlyList<PortRange> Ports);
