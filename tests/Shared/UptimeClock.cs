using Microsoft.Extensions.Time.Testing;

namespace Meshwire.Testing;

/// <summary>
/// A fake clock that behaves like a Linux host's: timestamps count nanoseconds since boot (frequency 10^9), and the
/// clock starts where real machines are, weeks into their uptime, not at zero. <see cref="Boundaries"/> lists the
/// uptimes at which a careless conversion overflows, so tests can start just before one and advance across it.
/// Wall-clock time (GetUtcNow) and timers are FakeTimeProvider's; Advance moves both together.
/// </summary>
public sealed class UptimeClock : FakeTimeProvider
{
    /// <summary>Three weeks: the default uptime tests start at.</summary>
    public static readonly TimeSpan WeeksOfUptime = TimeSpan.FromDays(21);

    /// <summary>
    /// Uptimes just past which a conversion overflows a signed 64-bit product: <c>ns × 10^7</c> (922 s, the
    /// control channel's old bug), <c>ns × 10^9</c> (9.2 s, a conversion to nanoseconds squared), <c>ns × 10^3</c>
    /// (106 days), and the end of a signed 32-bit count of milliseconds (24.8 days).
    /// </summary>
    public static readonly TimeSpan[] Boundaries =
    [
        TimeSpan.FromTicks(long.MaxValue / TimeSpan.TicksPerSecond / 100), // 2^63 / 10^7 ns = 922.3 s
        TimeSpan.FromTicks(long.MaxValue / 1_000_000_000 / 100),            // 2^63 / 10^9 ns = 9.2 s
        TimeSpan.FromTicks(long.MaxValue / 1_000 / 100),                    // 2^63 / 10^3 ns = 106.7 days
        TimeSpan.FromMilliseconds(int.MaxValue),                            // 2^31 ms = 24.86 days
    ];

    private readonly long _bootOffsetNanoseconds;
    private readonly DateTimeOffset _wallAtStart;

    /// <param name="uptime">The host's uptime when the test starts; <see cref="WeeksOfUptime"/> when omitted.</param>
    /// <param name="wallClock">The wall-clock time at the start; the current time when omitted.</param>
    public UptimeClock(TimeSpan? uptime = null, DateTimeOffset? wallClock = null)
        : base(wallClock ?? DateTimeOffset.UtcNow)
    {
        _wallAtStart = GetUtcNow();
        _bootOffsetNanoseconds = checked((uptime ?? WeeksOfUptime).Ticks * 100);
    }

    /// <summary>The host's uptime now.</summary>
    public TimeSpan Uptime => TimeSpan.FromTicks(GetTimestamp() / 100);

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => checked(_bootOffsetNanoseconds + (GetUtcNow() - _wallAtStart).Ticks * 100);
}
