using System.Net;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Compile;

/// <summary>
/// Compiles a policy against the tailnet's nodes into, for each node, the inbound filter it enforces and the
/// peers it may see (a node sees a peer when either may reach the other). Built for deltas (ARCHITECTURE.md
/// "Control plane scales by deltas"): <see cref="UpsertNode"/> and <see cref="RemoveNode"/> return the
/// nodes whose filter or peer set may have changed, and only those are recomputed.
/// </summary>
/// <remarks>
/// Indexes (N nodes, R rules, A = aliases in the policy, P = principals per node = 2 + tags):
/// <list type="bullet">
/// <item>membership: principal → node ids. Built in O(N·P).</item>
/// <item>destinations: principal → (rule, target); plus the lists of prefix targets and autogroup:self
/// targets. Sources: principal → rules. Built once per policy in O(A).</item>
/// <item>per rule, the resolved source prefixes, cached and shared by every node's filter; "*" resolves to
/// 0.0.0.0/0 and ::/0 and so never depends on membership.</item>
/// </list>
/// Filter of node n: O(T_n + Σ resolved source sizes the first time) where T_n is the number of targets
/// matching n's principals (+ prefix and self targets); afterwards source lists are reused, so computing all
/// N filters is O(Σ_n T_n + Σ_r |sources_r|), not O(N·R·N).
/// A node change costs O(P) index updates, plus O(|dst nodes|) for every rule whose sources mention a changed
/// principal, plus two peer-set computations for that node (O(peers)).
/// Peer sets are computed on demand and not cached: with an allow-all policy they are O(N) each and caching
/// all of them would be O(N²) memory.
/// Not thread-safe: the control server applies changes to one engine from one place, then publishes
/// immutable results.
/// </remarks>
public sealed partial class PolicyEngine
{
    private readonly Dictionary<StableNodeId, PolicyNode> _nodes = [];
    private readonly Dictionary<Principal, HashSet<StableNodeId>> _members = [];
    private readonly Dictionary<Principal, List<TargetRef>> _targetsByPrincipal = [];
    private readonly List<TargetRef> _prefixTargets = [];
    private readonly List<TargetRef> _selfTargets = [];
    private readonly Dictionary<Principal, List<CompiledRule>> _rulesBySource = [];
    private readonly List<CompiledRule> _wildcardSourceRules = [];
    private readonly List<CompiledRule> _prefixSourceRules = [];
    private readonly CompiledRule[] _rules;
    private readonly Dictionary<StableNodeId, IReadOnlyList<FilterRule>> _filters = [];

    public PolicyEngine(PolicyDocument policy, IEnumerable<PolicyNode> nodes)
    {
        Policy = policy;
        _rules = [.. policy.Rules.Select((rule, i) => new CompiledRule(i, rule))];
        foreach (var rule in _rules)
        {
            IndexRule(rule);
        }

        foreach (var node in nodes)
        {
            if (!_nodes.TryAdd(node.Id, node))
            {
                throw new ArgumentException($"node id {node.Id} appears twice", nameof(nodes));
            }

            AddMembership(node);
        }
    }

    public PolicyDocument Policy { get; }

    public IReadOnlyCollection<PolicyNode> Nodes => _nodes.Values;

    public PolicyNode? FindNode(StableNodeId id) => _nodes.GetValueOrDefault(id);

    /// <summary>The inbound rules node <paramref name="id"/> enforces, in policy order. Cached until a change touches the node.</summary>
    public IReadOnlyList<FilterRule> GetFilterRules(StableNodeId id)
    {
        if (_filters.TryGetValue(id, out var cached))
        {
            return cached;
        }

        var node = _nodes.GetValueOrDefault(id) ?? throw new KeyNotFoundException($"unknown node {id}");
        var emitted = new List<(int Ordinal, FilterRule Rule)>();
        foreach (var target in TargetsOf(node))
        {
            var sources = target.Target.Kind == TargetKind.Self ? SelfSources(target.Rule, node) : ResolveSources(target.Rule);
            var addresses = target.Target.Kind == TargetKind.Prefix
                ? node.Addresses.Where(target.Target.Prefix.Contains)
                : node.Addresses;
            var destinations = Prefixes.Destinations(addresses, target.Target.Ports);
            if (sources.Count > 0 && destinations.Length > 0)
            {
                emitted.Add((target.Rule.Ordinal, new FilterRule(sources, destinations, target.Target.Protocols, target.Rule.Rule)));
            }
        }

        IReadOnlyList<FilterRule> rules = [.. emitted.OrderBy(e => e.Ordinal).Select(e => e.Rule)];
        _filters[id] = rules;
        return rules;
    }

    /// <summary>Builds the node's packet filter from <see cref="GetFilterRules"/>.</summary>
    public PacketFilter BuildPacketFilter(StableNodeId id, PacketFilterOptions? options = null) => new(GetFilterRules(id), options);

    /// <summary>(rule, target) pairs whose destination selects <paramref name="node"/>; self targets only for user-owned nodes.</summary>
    private IEnumerable<TargetRef> TargetsOf(PolicyNode node)
    {
        foreach (var principal in Principal.Of(node))
        {
            if (_targetsByPrincipal.TryGetValue(principal, out var targets))
            {
                foreach (var target in targets)
                {
                    yield return target;
                }
            }
        }

        foreach (var target in _prefixTargets)
        {
            if (node.Addresses.Any(target.Target.Prefix.Contains))
            {
                yield return target;
            }
        }

        if (node.IsUserOwned)
        {
            foreach (var target in _selfTargets)
            {
                yield return target;
            }
        }
    }

    private IReadOnlyList<IPNetwork> ResolveSources(CompiledRule rule)
    {
        if (rule.ResolvedSources is { } cached)
        {
            return cached;
        }

        IReadOnlyList<IPNetwork> resolved;
        if (rule.SourceWildcard)
        {
            resolved = [Prefixes.AllV4, Prefixes.AllV6];
        }
        else
        {
            var set = new HashSet<IPNetwork>(rule.SourcePrefixes);
            foreach (var principal in rule.SourcePrincipals)
            {
                if (_members.TryGetValue(principal, out var members))
                {
                    foreach (var id in members)
                    {
                        foreach (var address in _nodes[id].Addresses)
                        {
                            set.Add(Prefixes.Host(address));
                        }
                    }
                }
            }

            resolved = [.. set];
        }

        rule.ResolvedSources = resolved;
        return resolved;
    }

    /// <summary>autogroup:self: the rule's sources restricted to the destination owner's own nodes.</summary>
    private IReadOnlyList<IPNetwork> SelfSources(CompiledRule rule, PolicyNode destination)
    {
        var result = new List<IPNetwork>();
        foreach (var id in MembersOf(Principal.User(destination.OwnerLogin)))
        {
            var node = _nodes[id];
            if (rule.HasSource(node))
            {
                result.AddRange(node.Addresses.Select(Prefixes.Host));
            }
        }

        return result;
    }

    private IEnumerable<StableNodeId> MembersOf(Principal principal) =>
        _members.TryGetValue(principal, out var members) ? members : [];

    private void IndexRule(CompiledRule rule)
    {
        foreach (var target in rule.Targets)
        {
            var reference = new TargetRef(rule, target);
            switch (target.Kind)
            {
                case TargetKind.Principal: ListFor(_targetsByPrincipal, target.Principal).Add(reference); break;
                case TargetKind.Prefix: _prefixTargets.Add(reference); break;
                case TargetKind.Self: _selfTargets.Add(reference); break;
            }
        }

        foreach (var principal in rule.SourcePrincipals)
        {
            ListFor(_rulesBySource, principal).Add(rule);
        }

        if (rule.SourceWildcard)
        {
            _wildcardSourceRules.Add(rule);
        }

        if (rule.SourcePrefixes.Length > 0)
        {
            _prefixSourceRules.Add(rule);
        }
    }

    private void AddMembership(PolicyNode node)
    {
        foreach (var principal in Principal.Of(node))
        {
            if (!_members.TryGetValue(principal, out var set))
            {
                _members[principal] = set = [];
            }

            set.Add(node.Id);
        }
    }

    private void RemoveMembership(PolicyNode node)
    {
        foreach (var principal in Principal.Of(node))
        {
            if (_members.TryGetValue(principal, out var set))
            {
                set.Remove(node.Id);
            }
        }
    }

    private static List<TValue> ListFor<TKey, TValue>(Dictionary<TKey, List<TValue>> map, TKey key)
        where TKey : notnull
    {
        if (!map.TryGetValue(key, out var list))
        {
            map[key] = list = [];
        }

        return list;
    }
}
