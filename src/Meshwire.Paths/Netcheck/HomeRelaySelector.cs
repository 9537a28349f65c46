namespace Meshwire.Paths.Netcheck;

/// <summary>
/// Chooses the home relay region from measured latencies, with hysteresis so that the home (and with it every peer's
/// relayed path to us) does not flap between regions of similar latency.
/// </summary>
public static class HomeRelaySelector
{
    /// <summary>Another region must be at least this much faster, relatively...</summary>
    public const double MinRelativeGain = 0.10;

    /// <summary>...and absolutely, to replace the current home.</summary>
    public static readonly TimeSpan MinAbsoluteGain = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The region to use: <paramref name="current"/> (0: none yet) while it answers and no region is clearly faster;
    /// else the fastest region. With no measurements at all the current home is kept.
    /// </summary>
    public static int Choose(int current, IReadOnlyDictionary<int, TimeSpan> latency)
    {
        if (latency.Count == 0)
        {
            return current;
        }

        var best = latency.OrderBy(kv => kv.Value).ThenBy(kv => kv.Key).First();
        if (current == 0 || !latency.TryGetValue(current, out var currentLatency))
        {
            return best.Key;
        }

        var clearlyFaster = currentLatency - best.Value > MinAbsoluteGain
            && best.Value.Ticks < currentLatency.Ticks * (1 - MinRelativeGain);
        return clearlyFaster ? best.Key : current;
    }
}
