using System.Net;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Compile;

internal enum TargetKind
{
    Principal,
    Prefix,
    Self,
}

/// <summary>A rule target reduced to what the index needs.</summary>
internal sealed record CompiledTarget(TargetKind Kind, Principal Principal, IPNetwork Prefix, ProtocolSet Protocols, IReadOnlyList<PortRange> Ports);

/// <summary>
/// A policy rule with its sources split into node principals (groups expanded), a wildcard flag and literal
/// prefixes. <see cref="ResolvedSources"/> caches the source address list; the engine clears it when a node
/// joins or leaves one of <see cref="SourcePrincipals"/>.
/// </summary>
internal sealed class CompiledRule
{
    public CompiledRule(int ordinal, NetworkRule rule)
    {
        Ordinal = ordinal;
        Rule = rule;
        var principals = new HashSet<Principal>();
        var prefixes = new List<IPNetwork>();
        foreach (var alias in rule.Sources)
        {
            switch (alias.Kind)
            {
                case AliasKind.Wildcard: SourceWildcard = true; break;
                case AliasKind.User: principals.Add(Principal.User(alias.Text)); break;
                case AliasKind.Group: principals.UnionWith(alias.Users.Select(Principal.User)); break;
                case AliasKind.Tag: principals.Add(Principal.Tag(alias.Text)); break;
                case AliasKind.AutogroupMember: principals.Add(Principal.Member); break;
                case AliasKind.AutogroupTagged: principals.Add(Principal.Tagged); break;
                case AliasKind.Host or AliasKind.Prefix: prefixes.Add(alias.Prefix); break;
            }
        }

        SourcePrincipals = [.. principals];
        SourcePrefixes = [.. prefixes.Distinct()];
        Targets = [.. rule.Targets.SelectMany(Compile)];
    }

    public int Ordinal { get; }

    public NetworkRule Rule { get; }

    public bool SourceWildcard { get; }

    public Principal[] SourcePrincipals { get; }

    public IPNetwork[] SourcePrefixes { get; }

    public CompiledTarget[] Targets { get; }

    public IReadOnlyList<IPNetwork>? ResolvedSources { get; set; }

    /// <summary>Whether the node is a source of this rule (ignores autogroup:self pairing).</summary>
    public bool HasSource(PolicyNode node)
    {
        if (SourceWildcard)
        {
            return true;
        }

        foreach (var principal in Principal.Of(node))
        {
            if (Array.IndexOf(SourcePrincipals, principal) >= 0)
            {
                return true;
            }
        }

        foreach (var prefix in SourcePrefixes)
        {
            if (node.Addresses.Any(prefix.Contains))
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<CompiledTarget> Compile(RuleTarget target)
    {
        var alias = target.Destination;
        if (alias.Kind == AliasKind.Group)
        {
            return alias.Users.Distinct().Select(u => new CompiledTarget(TargetKind.Principal, Principal.User(u), default, target.Protocols, target.Ports));
        }

        return [alias.Kind switch
        {
            AliasKind.Wildcard => new(TargetKind.Principal, Principal.All, default, target.Protocols, target.Ports),
            AliasKind.User => new(TargetKind.Principal, Principal.User(alias.Text), default, target.Protocols, target.Ports),
            AliasKind.Tag => new(TargetKind.Principal, Principal.Tag(alias.Text), default, target.Protocols, target.Ports),
            AliasKind.AutogroupMember => new(TargetKind.Principal, Principal.Member, default, target.Protocols, target.Ports),
            AliasKind.AutogroupTagged => new(TargetKind.Principal, Principal.Tagged, default, target.Protocols, target.Ports),
            AliasKind.AutogroupSelf => new(TargetKind.Self, default, default, target.Protocols, target.Ports),
            AliasKind.Host or AliasKind.Prefix => new(TargetKind.Prefix, default, alias.Prefix, target.Protocols, target.Ports),
            _ => throw new InvalidOperationException($"{alias.Kind} cannot be a destination here"),
        }];
    }
}

/// <summary>One (rule, target) pair as stored in the destination indexes.</summary>
internal readonly record struct TargetRef(CompiledRule Rule, CompiledTarget Target);

/// <summary>Helpers that turn node addresses into filter prefixes.</summary>
internal static class Prefixes
{
    public static readonly IPNetwork AllV4 = IPNetwork.Parse("0.0.0.0/0");
    public static readonly IPNetwork AllV6 = IPNetwork.Parse("::/0");

    public static IPNetwork Host(IPAddress address) =>
        new(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);

    public static FilterDestination[] Destinations(IEnumerable<IPAddress> addresses, IReadOnlyList<PortRange> ports) =>
        [.. addresses.SelectMany(a => ports.Select(p => new FilterDestination(Host(a), p)))];
}
