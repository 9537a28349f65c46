using Meshwire.Core;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.PathSelection;

/// <summary>
/// Everything <see cref="PathManager"/> knows about one peer: its keys, candidates, outstanding pings, chosen path and
/// timers. Plain data plus lookups; the decisions live in the manager's partial files.
/// </summary>
internal sealed class PeerPaths : IDisposable
{
    private readonly (DiscoTxId Tx, EndpointAddress To, TimeSpan SentAt)[] _pending = new (DiscoTxId, EndpointAddress, TimeSpan)[PathConstants.MaxPendingPingsPerPeer];
    private int _pendingCount;

    public PeerPaths(NodePublicKey nodeKey, DiscoPublicKey discoKey, DiscoBox? box)
    {
        NodeKey = nodeKey;
        DiscoKey = discoKey;
        Box = box;
    }

    public NodePublicKey NodeKey { get; }

    public DiscoPublicKey DiscoKey { get; }

    /// <summary>Null when the peer's disco key is unusable: the peer is reached by relay only.</summary>
    public DiscoBox? Box { get; }

    public DiscoReplayGuard Replay { get; } = new();

    public int HomeRelay { get; set; }

    public List<Candidate> Candidates { get; } = [];

    /// <summary>The endpoints of the latest netmap entry, as given (to notice when they change).</summary>
    public EndpointAddress[] NetmapEndpoints { get; set; } = [];

    /// <summary>The direct path in use; meaningful only while <see cref="Candidate.IsTrusted"/>.</summary>
    public Candidate? Best { get; set; }

    public TimeSpan? LastRouteAt { get; set; }

    public TimeSpan NextDiscoveryAt { get; set; }

    public TimeSpan RetryDelay { get; set; } = PathConstants.DiscoveryRetryMin;

    public TimeSpan NextUpgradeAt { get; set; }

    /// <summary>The time this peer's entry in the manager's timer queue stands for; MaxValue when none.</summary>
    public TimeSpan WakeAt { get; set; } = TimeSpan.MaxValue;

    public bool Removed { get; private set; }

    public int PendingCount => _pendingCount;

    public bool IsActive(TimeSpan now) => LastRouteAt is { } at && now - at < PathConstants.ActiveTimeout;

    public Candidate? Find(EndpointAddress address)
    {
        foreach (var candidate in Candidates)
        {
            if (candidate.Address == address)
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Adds <paramref name="origin"/> to the candidate at <paramref name="address"/>, creating it when there is room.</summary>
    public Candidate? Add(EndpointAddress address, CandidateOrigin origin)
    {
        if (Find(address) is { } existing)
        {
            existing.Origin |= origin;
            return existing;
        }

        if (Candidates.Count >= PathConstants.MaxCandidatesPerPeer || address.IsEmpty)
        {
            return null;
        }

        var candidate = new Candidate(address, origin);
        Candidates.Add(candidate);
        return candidate;
    }

    /// <summary>
    /// Makes <paramref name="addresses"/> the candidates carrying <paramref name="origin"/>: candidates still listed keep
    /// what pings proved about them; those left with no origin are forgotten (except the path in use).
    /// </summary>
    public void ReplaceOrigin(CandidateOrigin origin, ReadOnlySpan<EndpointAddress> addresses)
    {
        foreach (var candidate in Candidates)
        {
            if (!addresses.Contains(candidate.Address))
            {
                candidate.Origin &= ~origin;
            }
        }

        Candidates.RemoveAll(c => c.Origin == CandidateOrigin.None && c != Best);
        foreach (var address in addresses)
        {
            Add(address, origin);
        }
    }

    public void AddPending(DiscoTxId tx, EndpointAddress to, TimeSpan sentAt)
    {
        if (_pendingCount == _pending.Length)
        {
            Array.Copy(_pending, 1, _pending, 0, _pendingCount - 1);
            _pendingCount--;
        }

        _pending[_pendingCount++] = (tx, to, sentAt);
    }

    /// <summary>Removes and returns the outstanding ping <paramref name="tx"/>: a pong is accepted once.</summary>
    public bool TryTakePending(DiscoTxId tx, out EndpointAddress to, out TimeSpan sentAt)
    {
        for (var i = 0; i < _pendingCount; i++)
        {
            if (_pending[i].Tx == tx)
            {
                (_, to, sentAt) = _pending[i];
                Array.Copy(_pending, i + 1, _pending, i, _pendingCount - i - 1);
                _pendingCount--;
                return true;
            }
        }

        to = default;
        sentAt = default;
        return false;
    }

    /// <summary>Forgets pings older than <see cref="PathConstants.PingTimeout"/>; returns when the next one expires (MaxValue: none).</summary>
    public TimeSpan ExpirePending(TimeSpan now)
    {
        var write = 0;
        var next = TimeSpan.MaxValue;
        for (var i = 0; i < _pendingCount; i++)
        {
            var expires = _pending[i].SentAt + PathConstants.PingTimeout;
            if (expires <= now)
            {
                continue;
            }

            next = expires < next ? expires : next;
            _pending[write++] = _pending[i];
        }

        _pendingCount = write;
        return next;
    }

    public void Dispose()
    {
        Removed = true;
        Box?.Dispose();
    }
}
