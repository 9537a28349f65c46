namespace Meshwire.Policy.Filter;

/// <summary>A connection seen from this node: protocol, family, local and remote address and port (ICMP echo id as local port).</summary>
internal readonly record struct FlowKey(byte Protocol, bool IsIPv6, UInt128 Local, UInt128 Remote, ushort LocalPort, ushort RemotePort);

/// <summary>
/// A bounded map from key to expiry time. The dictionary is sized once, so inserting and removing never
/// allocates. When full, a sweep removes expired entries and, if that frees fewer than an eighth of the
/// capacity, arbitrary live ones as well; an insert is therefore O(1) amortised and a sweep O(capacity).
/// Not thread-safe: <see cref="PacketFilter"/> guards each table with its own lock.
/// </summary>
internal sealed class FlowTable<TKey>
    where TKey : struct, IEquatable<TKey>
{
    private readonly Dictionary<TKey, TimeSpan> _expiry;
    private readonly int _capacity;

    public FlowTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _expiry = new Dictionary<TKey, TimeSpan>(capacity);
    }

    public int Count => _expiry.Count;

    public void Set(in TKey key, TimeSpan now, TimeSpan expiresAt)
    {
        if (_expiry.Count >= _capacity && !_expiry.ContainsKey(key))
        {
            Sweep(now);
        }

        _expiry[key] = expiresAt;
    }

    /// <summary>True when the key is present and not expired at <paramref name="now"/>; expired keys are removed.</summary>
    public bool IsLive(in TKey key, TimeSpan now)
    {
        if (!_expiry.TryGetValue(key, out var expiresAt))
        {
            return false;
        }

        if (expiresAt > now)
        {
            return true;
        }

        _expiry.Remove(key);
        return false;
    }

    /// <summary>Removes every expired entry; if that frees less than an eighth of the table, arbitrary live ones too.</summary>
    private void Sweep(TimeSpan now)
    {
        var target = Math.Max(1, _capacity / 8);
        var removed = 0;
        foreach (var (key, expiresAt) in _expiry)
        {
            if (expiresAt <= now)
            {
                _expiry.Remove(key);
                removed++;
            }
        }

        foreach (var (key, _) in _expiry)
        {
            if (removed >= target)
            {
                return;
            }

            _expiry.Remove(key);
            removed++;
        }
    }
}
