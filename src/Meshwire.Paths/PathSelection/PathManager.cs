using Meshwire.Core;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.PathSelection;

/// <summary>
/// Chooses, per peer, how WireGuard datagrams travel: straight over UDP when a discovery pong proved the address
/// recently, else through the relay. Sans-I/O: the driver feeds it netmaps, received discovery datagrams and the time,
/// asks <see cref="Route"/> per datagram, and sends what <see cref="TryPoll"/> yields until it returns false, again at
/// <see cref="NextDeadline"/>.
///
/// Flow: <see cref="Route"/> marks a peer active → a discovery round pings every candidate and sends a call-me-maybe
/// through the relay (the peer pings back at once: hole punching) → the first pong makes the path direct → heartbeats
/// keep it proven → with no pong or traffic for <see cref="PathConstants.TrustDuration"/> it is dead and the peer is
/// relayed again while discovery retries with backoff. docs/discovery.md has the full state machine.
///
/// Not thread safe: the driver serializes every call (one loop, or one lock around the manager).
/// </summary>
public sealed partial class PathManager : IDisposable
{
    private readonly DiscoPrivateKey _discoPrivate;
    private readonly Dictionary<NodePublicKey, PeerPaths> _byNode = [];
    private readonly Dictionary<DiscoPublicKey, PeerPaths> _byDisco = [];
    private EndpointAddress[] _localEndpoints = [];

    public PathManager(DiscoPrivateKey discoKey, NodePublicKey nodeKey, int homeRelay = 0)
    {
        _discoPrivate = discoKey;
        DiscoKey = DiscoKeys.PublicKeyOf(discoKey);
        NodeKey = nodeKey;
        HomeRelay = homeRelay;
    }

    /// <summary>Smallest buffer <see cref="TryPoll"/> accepts.</summary>
    public const int MaxDatagramLength = DiscoConstants.MaxMessageLength;

    public DiscoPublicKey DiscoKey { get; }

    public NodePublicKey NodeKey { get; }

    /// <summary>Our home relay region (0: none); used for peers that have none.</summary>
    public int HomeRelay { get; set; }

    public int PeerCount => _byNode.Count;

    /// <summary>
    /// Replaces the peer set from a netmap. Unchanged peers keep their state; a changed disco key starts the peer
    /// afresh; changed endpoints replace the netmap candidates and restart discovery; missing peers are forgotten.
    /// </summary>
    public void SetPeers(IEnumerable<PathPeer> peers, TimeSpan now)
    {
        var seen = new HashSet<NodePublicKey>();
        foreach (var peer in peers)
        {
            if (!seen.Add(peer.NodeKey))
            {
                continue;
            }

            if (_byNode.TryGetValue(peer.NodeKey, out var state) && state.DiscoKey != peer.DiscoKey)
            {
                Forget(state);
                state = null;
            }

            if (state is null)
            {
                state = new PeerPaths(peer.NodeKey, peer.DiscoKey, DiscoBox.TryCreate(_discoPrivate, peer.DiscoKey));
                _byNode[peer.NodeKey] = state;
                _byDisco[peer.DiscoKey] = state;
                state.ReplaceOrigin(CandidateOrigin.Netmap, [.. peer.Endpoints]);
                state.NetmapEndpoints = [.. peer.Endpoints];
            }
            else if (!SameNetmapEndpoints(state, peer.Endpoints))
            {
                state.ReplaceOrigin(CandidateOrigin.Netmap, [.. peer.Endpoints]);
                state.NetmapEndpoints = [.. peer.Endpoints];
                RestartDiscovery(state, now);
            }

            state.HomeRelay = peer.HomeRelay;
        }

        foreach (var state in _byNode.Values.Where(s => !seen.Contains(s.NodeKey)).ToList())
        {
            Forget(state);
        }
    }

    /// <summary>Our own candidate endpoints (local addresses, STUN-mapped addresses), sent in call-me-maybe messages.</summary>
    public void SetLocalEndpoints(ReadOnlySpan<EndpointAddress> endpoints) =>
        _localEndpoints = endpoints[..Math.Min(endpoints.Length, DiscoConstants.MaxCallMeMaybeEndpoints)].ToArray();

    /// <summary>
    /// Where to send a WireGuard datagram to <paramref name="peer"/> now. Marks the peer active: a peer that was idle
    /// starts discovery (its datagrams go to the returned relay meanwhile). Allocates nothing.
    /// </summary>
    public PathDecision Route(NodePublicKey peer, TimeSpan now)
    {
        if (!_byNode.TryGetValue(peer, out var state))
        {
            return PathDecision.None;
        }

        if (!state.IsActive(now))
        {
            state.RetryDelay = PathConstants.DiscoveryRetryMin;
            state.NextDiscoveryAt = now;
            state.NextUpgradeAt = now + PathConstants.UpgradeInterval;
            Schedule(state, now);
        }

        state.LastRouteAt = now;
        if (state.Best is { } best && !best.IsTrusted(now))
        {
            LoseBest(state, now);
        }

        return state.Best is { } path ? PathDecision.ToDirect(path.Address) : RelayDecision(state);
    }

    /// <summary>
    /// An authenticated WireGuard datagram from <paramref name="peer"/> arrived from <paramref name="from"/>: keeps a
    /// ponged path proven without extra pings, and learns the address as a candidate when it is new (roaming).
    /// </summary>
    public void NoteDirectTraffic(NodePublicKey peer, EndpointAddress from, TimeSpan now)
    {
        if (!_byNode.TryGetValue(peer, out var state))
        {
            return;
        }

        if (state.Find(from) is { } candidate)
        {
            candidate.LastTraffic = now;
            return;
        }

        if (state.Add(from, CandidateOrigin.Learned) is { } learned && state.IsActive(now))
        {
            QueuePing(state, learned, now);
            Schedule(state, now + PathConstants.PingTimeout);
        }
    }

    public PathStatus StatusOf(NodePublicKey peer, TimeSpan now)
    {
        if (!_byNode.TryGetValue(peer, out var state))
        {
            return new PathStatus(PathKind.None, null, 0, null, null, false, 0);
        }

        TimeSpan? lastPong = null;
        foreach (var candidate in state.Candidates)
        {
            if (candidate.LastPong is { } pong && (lastPong is null || pong > lastPong))
            {
                lastPong = pong;
            }
        }

        if (state.Best is { } best && best.IsTrusted(now))
        {
            return new PathStatus(PathKind.Direct, best.Address, 0, best.Latency, lastPong, state.IsActive(now), state.Candidates.Count);
        }

        var relay = RelayDecision(state);
        return new PathStatus(relay.Kind, null, relay.RelayRegion, null, lastPong, state.IsActive(now), state.Candidates.Count);
    }

    public void Dispose()
    {
        foreach (var state in _byNode.Values)
        {
            state.Dispose();
        }

        _byNode.Clear();
        _byDisco.Clear();
    }

    private PathDecision RelayDecision(PeerPaths state)
    {
        var region = state.HomeRelay != 0 ? state.HomeRelay : HomeRelay;
        return region != 0 ? PathDecision.ToRelay(region) : PathDecision.None;
    }

    private void Forget(PeerPaths state)
    {
        _byNode.Remove(state.NodeKey);
        if (_byDisco.TryGetValue(state.DiscoKey, out var owner) && owner == state)
        {
            _byDisco.Remove(state.DiscoKey);
        }

        state.Dispose();
    }

    private static bool SameNetmapEndpoints(PeerPaths state, IReadOnlyList<EndpointAddress> endpoints) =>
        state.NetmapEndpoints.Length == endpoints.Count && state.NetmapEndpoints.ToHashSet().SetEquals(endpoints);
}
