using Meshwire.Protocol;

namespace Meshwire.Control.State;

/// <summary>
/// One open map stream of one node. The tailnet records changes here (under its own lock, cheaply: a dictionary
/// write); the stream's writer drains them into a single <see cref="MapDelta"/> when it is ready to send. Changes
/// to the same peer merge (last one wins, removal included), so a slow node gets one compact delta instead of a
/// backlog, and the order of changes to any one peer is kept. Several streams per node are legal.
/// </summary>
internal sealed class MapStream
{
    private readonly Lock _lock = new();

    // Guarded by _lock. Value null = peer removed.
    private Dictionary<string, WireNode?> _peers = [];
    private WireNode? _self;
    private IReadOnlyList<WireFilterRule>? _filter;
    private RelayMap? _relayMap;
    private DnsConfig? _dns;
    private bool _closed;

    private readonly SemaphoreSlim _signal = new(0, 1);

    public MapStream(string nodeId) => NodeId = nodeId;

    public string NodeId { get; }

    /// <summary>Set when the node must be told to stop (deleted, logged out, expired): the writer closes the stream.</summary>
    public string? CloseReason { get; private set; }

    public void UpsertPeer(WireNode peer)
    {
        lock (_lock)
        {
            _peers[peer.Id] = peer;
        }

        Wake();
    }

    public void RemovePeer(string id)
    {
        lock (_lock)
        {
            _peers[id] = null;
        }

        Wake();
    }

    public void SetSelf(WireNode self)
    {
        lock (_lock)
        {
            _self = self;
        }

        Wake();
    }

    public void SetFilter(IReadOnlyList<WireFilterRule> filter)
    {
        lock (_lock)
        {
            _filter = filter;
        }

        Wake();
    }

    public void SetRelayMap(RelayMap relayMap)
    {
        lock (_lock)
        {
            _relayMap = relayMap;
        }

        Wake();
    }

    public void SetDns(DnsConfig dns)
    {
        lock (_lock)
        {
            _dns = dns;
        }

        Wake();
    }

    public void Close(string reason)
    {
        lock (_lock)
        {
            _closed = true;
            CloseReason = reason;
        }

        Wake();
    }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _closed;
            }
        }
    }

    /// <summary>Waits until something is pending or <paramref name="timeout"/> passes; true when woken.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    /// <summary>Takes everything pending as one delta with <paramref name="seq"/>; null when nothing is pending.</summary>
    public MapDelta? Drain(long seq)
    {
        lock (_lock)
        {
            if (_peers.Count == 0 && _self is null && _filter is null && _relayMap is null && _dns is null)
            {
                return null;
            }

            List<WireNode>? changed = null;
            List<string>? removed = null;
            foreach (var (id, peer) in _peers)
            {
                if (peer is null)
                {
                    (removed ??= []).Add(id);
                }
                else
                {
                    (changed ??= []).Add(peer);
                }
            }

            var delta = new MapDelta
            {
                Seq = seq,
                PeersChanged = changed,
                PeersRemoved = removed,
                Self = _self,
                PacketFilter = _filter,
                RelayMap = _relayMap,
                Dns = _dns,
            };
            _peers = [];
            _self = null;
            _filter = null;
            _relayMap = null;
            _dns = null;
            return delta;
        }
    }

    private void Wake()
    {
        // At most one pending wake-up: the writer drains everything on each.
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another thread woke it between the check and the release.
            }
        }
    }
}
