using Meshwire.Policy.Compile;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;
using Meshwire.Protocol;

namespace Meshwire.Control.State;

/// <summary>
/// The live tailnet in memory: every node, the compiled policy, and the open map streams. The database is the
/// source of truth; the control service writes it first and then calls <see cref="Apply"/> here.
///
/// Flow of one change to node X (join, key rotation, tags, endpoints, expiry, removal):
///   1. PolicyEngine.UpsertNode/RemoveNode (only when a policy-relevant field changed) returns the nodes whose
///      filter may have changed; only those filters are recomputed and compared with what was last sent.
///   2. Visibility is symmetric and depends only on the two nodes involved, so X's change alters visibility only
///      in pairs (X, Y): the peers of X before and after are computed once (O(peers)), and each such Y gets one
///      record (X changed, or X removed) merged into its streams.
///   3. X's own streams get its new self node and, when X just became active, its peers.
/// Cost per change: O(peers of X + affected filters), never O(N²).
/// Thread-safety: every method takes <see cref="_lock"/>; streams are fed under it so that a stream's full map
/// and the deltas after it are in order.
/// </summary>
internal sealed class Tailnet
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;

    // All guarded by _lock.
    private readonly Dictionary<string, NodeState> _nodes = [];
    private readonly Dictionary<string, List<MapStream>> _streams = [];
    private readonly Dictionary<string, IReadOnlyList<FilterRule>> _sentFilters = [];
    private readonly Dictionary<string, WireNode> _wire = [];
    private PolicyEngine _engine;
    private RelayMap _relayMap;
    private DnsConfig _dns;

    public Tailnet(PolicyDocument policy, IEnumerable<NodeState> nodes, RelayMap relayMap, DnsConfig dns, TimeProvider time)
    {
        _time = time;
        _relayMap = relayMap;
        _dns = dns;
        var now = time.GetUtcNow();
        foreach (var node in nodes)
        {
            _nodes[node.StableId] = node;
        }

        _engine = new PolicyEngine(policy, _nodes.Values.Where(n => n.IsActive(now)).Select(n => n.ToPolicyNode()));
    }

    public int StreamCount
    {
        get
        {
            lock (_lock)
            {
                return _streams.Values.Sum(s => s.Count);
            }
        }
    }

    public NodeState? Find(string stableId)
    {
        lock (_lock)
        {
            return _nodes.GetValueOrDefault(stableId);
        }
    }

    public IReadOnlyList<NodeState> Snapshot()
    {
        lock (_lock)
        {
            return [.. _nodes.Values];
        }
    }

    public PolicyDocument Policy
    {
        get
        {
            lock (_lock)
            {
                return _engine.Policy;
            }
        }
    }

    /// <summary>Records one node change (null = added or removed) and delivers it to the streams it touches.</summary>
    public void Apply(NodeState? old, NodeState? updated)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var id = (updated ?? old)!.StableId;
            var wasActive = old is not null && _engine.FindNode(new StableNodeId(id)) is not null;
            var isActive = updated is not null && updated.IsActive(now);
            if (updated is null)
            {
                _nodes.Remove(id);
            }
            else
            {
                _nodes[id] = updated;
            }

            var sid = new StableNodeId(id);
            var before = wasActive ? _engine.GetVisiblePeers(sid) : (IReadOnlySet<StableNodeId>)new HashSet<StableNodeId>();
            IReadOnlySet<StableNodeId> affected = new HashSet<StableNodeId>();
            if (wasActive && !isActive)
            {
                affected = _engine.RemoveNode(sid);
            }
            else if (isActive && (!wasActive || !old!.PolicyEquals(updated!)))
            {
                affected = _engine.UpsertNode(updated!.ToPolicyNode());
            }

            var after = isActive ? _engine.GetVisiblePeers(sid) : (IReadOnlySet<StableNodeId>)new HashSet<StableNodeId>();
            WireNode? wire = null;
            if (isActive)
            {
                wire = updated!.ToWire();
                _wire[id] = wire;
            }
            else
            {
                _wire.Remove(id);
                _sentFilters.Remove(id);
            }

            foreach (var peer in before)
            {
                if (!after.Contains(peer))
                {
                    ForEachStream(peer.Value, s => s.RemovePeer(id));
                }
            }

            if (wire is not null)
            {
                foreach (var peer in after)
                {
                    ForEachStream(peer.Value, s => s.UpsertPeer(wire));
                }
            }

            // The node's own streams.
            if (updated is not null && _streams.TryGetValue(id, out var own))
            {
                if (!isActive)
                {
                    foreach (var s in own)
                    {
                        s.Close(updated.Expired ? "logged out or expired by an admin" : updated.Approved ? "node key expired" : "waiting for approval");
                    }
                }
                else
                {
                    var self = wire!;
                    foreach (var s in own)
                    {
                        s.SetSelf(self);
                    }

                    if (!wasActive)
                    {
                        foreach (var peer in after)
                        {
                            var peerWire = WireOf(peer.Value);
                            foreach (var s in own)
                            {
                                s.UpsertPeer(peerWire);
                            }
                        }
                    }
                }
            }
            else if (updated is null && _streams.TryGetValue(id, out var deleted))
            {
                foreach (var s in deleted)
                {
                    s.Close("node deleted");
                }
            }

            foreach (var node in affected)
            {
                if (node.Value != id || isActive)
                {
                    RefreshFilter(node.Value);
                }
            }

            if (isActive && !affected.Contains(sid))
            {
                RefreshFilter(id);
            }
        }
    }

    /// <summary>Replaces the policy: every node's peers and filter are recomputed and every stream gets a delta.</summary>
    public void SetPolicy(PolicyDocument policy)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            var oldPeers = _streams.Keys.Where(id => _engine.FindNode(new StableNodeId(id)) is not null)
                .ToDictionary(id => id, id => _engine.GetVisiblePeers(new StableNodeId(id)));
            _engine = new PolicyEngine(policy, _nodes.Values.Where(n => n.IsActive(now)).Select(n => n.ToPolicyNode()));
            foreach (var (id, streams) in _streams)
            {
                if (_engine.FindNode(new StableNodeId(id)) is null)
                {
                    continue;
                }

                var after = _engine.GetVisiblePeers(new StableNodeId(id));
                var before = oldPeers.GetValueOrDefault(id) ?? new HashSet<StableNodeId>();
                foreach (var p in before.Where(p => !after.Contains(p)))
                {
                    streams.ForEach(s => s.RemovePeer(p.Value));
                }

                foreach (var p in after.Where(p => !before.Contains(p)))
                {
                    var w = WireOf(p.Value);
                    streams.ForEach(s => s.UpsertPeer(w));
                }

                RefreshFilter(id);
            }
        }
    }

    public void SetRelayMap(RelayMap relayMap)
    {
        lock (_lock)
        {
            _relayMap = relayMap;
            foreach (var streams in _streams.Values)
            {
                streams.ForEach(s => s.SetRelayMap(relayMap));
            }
        }
    }

    /// <summary>Registers a stream and returns the full map it starts with; later changes arrive as deltas on it.</summary>
    public MapFull? Subscribe(MapStream stream, int keepAliveSeconds)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_nodes.TryGetValue(stream.NodeId, out var node) || !node.IsActive(now))
            {
                return null;
            }

            if (!_streams.TryGetValue(stream.NodeId, out var list))
            {
                _streams[stream.NodeId] = list = [];
            }

            list.Add(stream);
            return BuildFull(node, keepAliveSeconds);
        }
    }

    public void Unsubscribe(MapStream stream)
    {
        lock (_lock)
        {
            if (_streams.TryGetValue(stream.NodeId, out var list))
            {
                list.Remove(stream);
                if (list.Count == 0)
                {
                    _streams.Remove(stream.NodeId);
                }
            }
        }
    }

    /// <summary>True while the node is in maps (the sweep uses it to find keys that expired since).</summary>
    public bool IsInEngine(string nodeId)
    {
        lock (_lock)
        {
            return _engine.FindNode(new StableNodeId(nodeId)) is not null;
        }
    }

    public bool HasStreams(string nodeId)
    {
        lock (_lock)
        {
            return _streams.ContainsKey(nodeId);
        }
    }

    /// <summary>A full map for one node (non-streaming map requests, tests).</summary>
    public MapFull? FullMap(string nodeId, int keepAliveSeconds)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _nodes.TryGetValue(nodeId, out var node) && node.IsActive(now) ? BuildFull(node, keepAliveSeconds) : null;
        }
    }

    private MapFull BuildFull(NodeState node, int keepAliveSeconds)
    {
        var sid = new StableNodeId(node.StableId);
        var peers = _engine.GetVisiblePeers(sid).Select(p => WireOf(p.Value)).OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        var rules = _engine.GetFilterRules(sid);
        _sentFilters[node.StableId] = rules;
        return new MapFull
        {
            Self = WireOf(node.StableId),
            Peers = peers,
            RelayMap = _relayMap,
            Dns = _dns,
            PacketFilter = FilterWire.ToWire(rules),
            KeepAliveSeconds = keepAliveSeconds,
        };
    }

    private WireNode WireOf(string id)
    {
        if (!_wire.TryGetValue(id, out var wire))
        {
            wire = _nodes[id].ToWire();
            _wire[id] = wire;
        }

        return wire;
    }

    private void RefreshFilter(string id)
    {
        if (!_streams.TryGetValue(id, out var streams) || _engine.FindNode(new StableNodeId(id)) is null)
        {
            // Nobody listens: forget what was sent; the next full map carries the filter.
            _sentFilters.Remove(id);
            return;
        }

        var rules = _engine.GetFilterRules(new StableNodeId(id));
        if (_sentFilters.TryGetValue(id, out var sent) && FilterWire.SameRules(sent, rules))
        {
            return;
        }

        _sentFilters[id] = rules;
        var wire = FilterWire.ToWire(rules);
        streams.ForEach(s => s.SetFilter(wire));
    }

    private void ForEachStream(string nodeId, Action<MapStream> action)
    {
        if (_streams.TryGetValue(nodeId, out var list))
        {
            foreach (var s in list)
            {
                action(s);
            }
        }
    }
}
