namespace Meshwire.Core;

/// <summary>
/// Turns <see cref="TimeProvider"/> timestamps into the <see cref="TimeSpan"/> "now" the protocol cores take.
/// The product <c>timestamp × TicksPerSecond</c> overflows a long once the timestamp passes 2^63 / 10^7: on Linux,
/// where the timestamp counts nanoseconds since boot, that is 922 s of uptime. The conversion is done in 128 bits,
/// so it is exact (to the tick) for any timestamp and frequency a clock can report.
/// </summary>
public static class MonotonicClock
{
    /// <summary>The monotonic time of <paramref name="time"/>, as a span since its (arbitrary) origin.</summary>
    public static TimeSpan Now(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return ToTimeSpan(time.GetTimestamp(), time.TimestampFrequency);
    }

    /// <summary>A timestamp counted at <paramref name="frequency"/> per second, as a span.</summary>
    public static TimeSpan ToTimeSpan(long timestamp, long frequency)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frequency);
        return TimeSpan.FromTicks((long)((Int128)timestamp * TimeSpan.TicksPerSecond / frequency));
    }
}
