namespace Meshwire.Relay.Server;

/// <summary>
/// Per-connection byte rate limit: <c>rate</c> bytes per second refill a bucket of <c>burst</c> bytes.
/// Sans-I/O: the caller passes monotonic time. A zero rate means unlimited.
/// </summary>
public struct TokenBucket
{
    private readonly double _rate;
    private readonly double _burst;
    private double _tokens;
    private TimeSpan _last;

    public TokenBucket(uint bytesPerSecond, uint burstBytes, TimeSpan now)
    {
        _rate = bytesPerSecond;
        _burst = Math.Max(burstBytes, bytesPerSecond);
        _tokens = _burst;
        _last = now;
    }

    public readonly bool IsUnlimited => _rate == 0;

    /// <summary>Takes <paramref name="bytes"/> tokens if available; false means drop the packet.</summary>
    public bool TryTake(int bytes, TimeSpan now)
    {
        if (_rate == 0)
        {
            return true;
        }

        if (now > _last)
        {
            _tokens = Math.Min(_burst, _tokens + ((now - _last).TotalSeconds * _rate));
            _last = now;
        }

        if (_tokens < bytes)
        {
            return false;
        }

        _tokens -= bytes;
        return true;
    }
}
