namespace Meshwire.Relay.Client;

/// <summary>
/// Exponential reconnect delay: min, 2 min, 4 min ... capped at max, each scaled by a jitter in [0.5, 1]
/// so that the clients of a restarted relay do not all come back in the same instant.
/// </summary>
public struct ReconnectBackoff(TimeSpan min, TimeSpan max)
{
    private int _failures;

    public readonly int Failures => _failures;

    /// <summary>The delay before the next attempt; <paramref name="jitter"/> in [0, 1] (0 gives the longest delay).</summary>
    public TimeSpan Next(double jitter)
    {
        var exponent = Math.Min(_failures, 30);
        _failures++;
        var ticks = Math.Min(max.Ticks, min.Ticks * (1L << Math.Min(exponent, 20)));
        return TimeSpan.FromTicks((long)(ticks * (1.0 - (0.5 * Math.Clamp(jitter, 0, 1)))));
    }

    public void Reset() => _failures = 0;
}
