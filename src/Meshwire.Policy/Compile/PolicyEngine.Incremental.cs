namespace Meshwire.Policy.Compile;

// Deltas and visibility. A change to node X can alter:
//  - X's own filter (its destination principals or addresses changed);
//  - the filters of every destination of a rule whose sources mention a principal X joined or left
//    (or any principal of X, when X's addresses changed), because those rules' source lists change;
//  - with autogroup:self, the filters of X's owner's nodes (old and new owner);
//  - the peer sets of every node X could see before or can see after.
// Everything else is untouched and keeps its cached filter.
public sealed partial class PolicyEngine
{
    /// <summary>Adds or replaces a node; returns the nodes (including it) whose filter or peers may have changed.</summary>
    public IReadOnlySet<StableNodeId> UpsertNode(PolicyNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        var old = _nodes.GetValueOrDefault(node.Id);
        return Apply(old, node);
    }

    /// <summary>Removes a node; returns the remaining nodes whose filter or peers may have changed.</summary>
    public IReadOnlySet<StableNodeId> RemoveNode(StableNodeId id)
    {
        var old = _nodes.GetValueOrDefault(id);
        if (old is null)
        {
            return new HashSet<StableNodeId>();
        }

        var affected = Apply(old, null);
        affected.Remove(id);
        return affected;
    }

    /// <summary>Nodes <paramref name="id"/> may see: those it may reach plus those that may reach it. O(peers + matching rules).</summary>
    public IReadOnlySet<StableNodeId> GetVisiblePeers(StableNodeId id)
    {
        var node = _nodes.GetValueOrDefault(id) ?? throw new KeyNotFoundException($"unknown node {id}");
        return PeersOf(node);
    }

    private HashSet<StableNodeId> Apply(PolicyNode? old, PolicyNode? updated)
    {
        var id = (updated ?? old)!.Id;
        var affected = new HashSet<StableNodeId> { id };
        if (old is not null)
        {
            affected.UnionWith(PeersOf(old));
        }

        var oldPrincipals = old is null ? [] : Principal.Of(old).ToHashSet();
        var newPrincipals = updated is null ? [] : Principal.Of(updated).ToHashSet();
        var addressesChanged = old is null || updated is null || !old.Addresses.SequenceEqual(updated.Addresses);
        var changed = new HashSet<Principal>(oldPrincipals);
        if (addressesChanged)
        {
            changed.UnionWith(newPrincipals);
        }
        else
        {
            changed.SymmetricExceptWith(newPrincipals);
        }

        if (old is not null)
        {
            RemoveMembership(old);
            _nodes.Remove(id);
        }

        if (updated is not null)
        {
            _nodes[id] = updated;
            AddMembership(updated);
        }

        foreach (var principal in changed)
        {
            if (_rulesBySource.TryGetValue(principal, out var rules))
            {
                foreach (var rule in rules)
                {
                    rule.ResolvedSources = null;
                    AddDestinationNodes(rule, affected);
                }
            }
        }

        if (_selfTargets.Count > 0)
        {
            foreach (var owner in new[] { old, updated })
            {
                if (owner is { IsUserOwned: true })
                {
                    affected.UnionWith(MembersOf(Principal.User(owner.OwnerLogin)));
                }
            }
        }

        if (updated is not null)
        {
            affected.UnionWith(PeersOf(updated));
        }

        foreach (var node in affected)
        {
            _filters.Remove(node);
        }

        return affected;
    }

    /// <summary>Destinations of a rule other than autogroup:self (handled by owner). Prefix targets scan all nodes: O(N).</summary>
    private void AddDestinationNodes(CompiledRule rule, HashSet<StableNodeId> into)
    {
        foreach (var target in rule.Targets)
        {
            if (target.Kind == TargetKind.Principal)
            {
                into.UnionWith(MembersOf(target.Principal));
            }
            else if (target.Kind == TargetKind.Prefix)
            {
                foreach (var node in _nodes.Values)
                {
                    if (node.Addresses.Any(target.Prefix.Contains))
                    {
                        into.Add(node.Id);
                    }
                }
            }
        }
    }

    private HashSet<StableNodeId> PeersOf(PolicyNode node)
    {
        var peers = new HashSet<StableNodeId>();

        // Inbound: sources of every rule targeting the node.
        foreach (var target in TargetsOf(node))
        {
            if (target.Target.Kind == TargetKind.Self)
            {
                foreach (var id in MembersOf(Principal.User(node.OwnerLogin)))
                {
                    if (target.Rule.HasSource(_nodes[id]))
                    {
                        peers.Add(id);
                    }
                }
            }
            else
            {
                AddSourceNodes(target.Rule, peers);
            }
        }

        // Outbound: destinations of every rule the node is a source of.
        foreach (var rule in RulesWithSource(node))
        {
            AddDestinationNodes(rule, peers);
            if (node.IsUserOwned && rule.Targets.Any(t => t.Kind == TargetKind.Self))
            {
                peers.UnionWith(MembersOf(Principal.User(node.OwnerLogin)));
            }
        }

        peers.Remove(node.Id);
        return peers;
    }

    private void AddSourceNodes(CompiledRule rule, HashSet<StableNodeId> into)
    {
        if (rule.SourceWildcard)
        {
            into.UnionWith(_nodes.Keys);
            return;
        }

        foreach (var principal in rule.SourcePrincipals)
        {
            into.UnionWith(MembersOf(principal));
        }

        if (rule.SourcePrefixes.Length > 0)
        {
            foreach (var node in _nodes.Values)
            {
                if (rule.SourcePrefixes.Any(p => node.Addresses.Any(p.Contains)))
                {
                    into.Add(node.Id);
                }
            }
        }
    }

    private HashSet<CompiledRule> RulesWithSource(PolicyNode node)
    {
        var rules = new HashSet<CompiledRule>(_wildcardSourceRules);
        foreach (var principal in Principal.Of(node))
        {
            if (_rulesBySource.TryGetValue(principal, out var list))
            {
                rules.UnionWith(list);
            }
        }

        foreach (var rule in _prefixSourceRules)
        {
            if (rule.SourcePrefixes.Any(p => node.Addresses.Any(p.Contains)))
            {
                rules.Add(rule);
            }
        }

        return rules;
    }
}
