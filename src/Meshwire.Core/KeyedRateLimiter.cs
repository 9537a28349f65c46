namespace Meshwire.Core;

/// <summary>
/// Token buckets by key (a source address, an auth key's hash): each key may take <c>burst</c> tokens at once and
/// <c>perSecond</c> a second after that. Sans-I/O: the caller passes monotonic time.
/// Memory is bounded: at most <c>capacity</c> keys are tracked. A bucket that has refilled completely carries no
/// information (a new one would be the same), so when the table is full such buckets are dropped (a sweep, at most
/// once per sweep interval); if every tracked key is still draining, further keys share one overflow bucket, so a
/// flood of fresh keys is limited as one key instead of growing the table or resetting the buckets of the keys
/// already limited. A rate of zero means unlimited (nothing is tracked). Thread-safe (one lock; the work under it is
/// O(1) except the sweep).
/// Used by the control server (channel handshakes and registrations) and the relay (its requests to control).
/// </summary>
public sealed class KeyedRateLimiter<TKey>
    where TKey : notnull
{
    private readonly double _perSecond;
    private readonly double _burst;
    private readonly int _capacity;
    private readonly TimeSpan _sweepInterval;

    // Guarded by _lock: the buckets, the overflow bucket and when the table was last swept.
    private readonly Lock _lock = new();
    private readonly Dictionary<TKey, Bucket> _buckets = [];
    private Bucket _overflow;
    private TimeSpan _lastSweep;

    /// <param name="perSecond">Tokens a key regains a second; 0 is unlimited.</param>
    /// <param name="burst">Tokens a key may take at once (at least 1).</param>
    /// <param name="capacity">Keys tracked at most.</param>
    /// <param name="now">The caller's monotonic time now.</param>
    /// <param name="sweepInterval">
    /// The least time between two sweeps of the full table; by default the time a bucket takes to refill, at most a
    /// minute.
    /// </param>
    public KeyedRateLimiter(double perSecond, double burst, int capacity, TimeSpan now, TimeSpan? sweepInterval = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(perSecond);
        ArgumentOutOfRangeException.ThrowIfNegative(burst);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _perSecond = perSecond;
        _burst = Math.Max(1, burst);
        _capacity = capacity;
        _sweepInterval = sweepInterval
            ?? (perSecond == 0 ? TimeSpan.MaxValue : TimeSpan.FromSeconds(Math.Min(_burst / perSecond, TimeSpan.FromMinutes(1).TotalSeconds)));
        _overflow = new Bucket(_burst, now);
        _lastSweep = now;
    }

    public bool IsUnlimited => _perSecond == 0;

    /// <summary>Keys tracked now (at most the capacity).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes one token for <paramref name="key"/>; false with the wait until the next token otherwise.</summary>
    public bool TryTake(TKey key, TimeSpan now, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        if (IsUnlimited)
        {
            return true;
        }

        lock (_lock)
        {
            if (_buckets.TryGetValue(key, out var bucket))
            {
                var taken = Take(ref bucket, now, out retryAfter);
                _buckets[key] = bucket;
                return taken;
            }

            if (_buckets.Count >= _capacity)
            {
                Sweep(now);
            }

            if (_buckets.Count >= _capacity)
            {
                return Take(ref _overflow, now, out retryAfter);
            }

            bucket = new Bucket(_burst, now);
            var result = Take(ref bucket, now, out retryAfter);
            _buckets[key] = bucket;
            return result;
        }
    }

    private bool Take(ref Bucket bucket, TimeSpan now, out TimeSpan retryAfter)
    {
        bucket = bucket.Refill(now, _perSecond, _burst);
        if (bucket.Tokens >= 1)
        {
            bucket = bucket with { Tokens = bucket.Tokens - 1 };
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = TimeSpan.FromSeconds((1 - bucket.Tokens) / _perSecond);
        return false;
    }

    /// <summary>Drops the buckets that are full again; at most once per sweep interval. Caller holds _lock.</summary>
    private void Sweep(TimeSpan now)
    {
        if (now - _lastSweep < _sweepInterval)
        {
            return;
        }

        _lastSweep = now;
        foreach (var (key, bucket) in _buckets)
        {
            if (bucket.Refill(now, _perSecond, _burst).Tokens >= _burst)
            {
                _buckets.Remove(key);
            }
        }
    }

    private readonly record struct Bucket(double Tokens, TimeSpan Last)
    {
        public Bucket Refill(TimeSpan now, double perSecond, double burst) =>
            now <= Last ? this : new Bucket(Math.Min(burst, Tokens + ((now - Last).TotalSeconds * perSecond)), now);
    }
}
