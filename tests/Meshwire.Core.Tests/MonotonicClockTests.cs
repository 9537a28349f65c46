using Meshwire.Core;

namespace Meshwire.Core.Tests;

public sealed class MonotonicClockTests
{
    private const long Nanoseconds = 1_000_000_000;

    /// <summary>Linux (ns), the BCL's tick clock (100 ns), macOS-like µs, and a coarse millisecond clock.</summary>
    public static TheoryData<long> Frequencies() => new() { Nanoseconds, TimeSpan.TicksPerSecond, 1_000_000, 1_000 };

    [Theory]
    [MemberData(nameof(Frequencies))]
    public void ToTimeSpan_AcrossThe922SecondOverflowOfTheNaiveProduct_StaysExactAndMonotonic(long frequency)
    {
        // timestamp × TicksPerSecond overflows a long at 2^63 / 10^7; step across that timestamp one unit at a time.
        var edge = long.MaxValue / TimeSpan.TicksPerSecond;
        var previous = TimeSpan.MinValue;
        for (var timestamp = edge - 3; timestamp <= edge + 3; timestamp++)
        {
            var now = MonotonicClock.ToTimeSpan(timestamp, frequency);
            Assert.True(now > previous || frequency > TimeSpan.TicksPerSecond && now == previous, $"{timestamp}: {now} after {previous}");
            Assert.Equal((long)((decimal)timestamp * TimeSpan.TicksPerSecond / frequency), now.Ticks);
            previous = now;
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(922)]            // just before the old control-channel wrap on a Linux host
    [InlineData(923)]            // just after it
    [InlineData(1_845)]          // where the wrapped value came round once
    [InlineData(21 * 86_400)]    // three weeks of uptime
    [InlineData(2_147_484)]      // 2^31 ms: the end of a 32-bit millisecond count
    [InlineData(9_223_372)]      // 2^63 ns / 10^6: a product with microseconds overflows here
    [InlineData(200 * 86_400)]   // 200 days
    public void ToTimeSpan_LinuxNanosecondTimestampAtUptime_IsThatUptime(long seconds)
    {
        var now = MonotonicClock.ToTimeSpan(seconds * Nanoseconds + 999_999_999, Nanoseconds);

        Assert.Equal(TimeSpan.FromSeconds(seconds) + TimeSpan.FromTicks(9_999_999), now);
    }

    [Fact]
    public void ToTimeSpan_LargestTimestamp_DoesNotOverflow()
    {
        Assert.Equal(TimeSpan.FromTicks(long.MaxValue / 100), MonotonicClock.ToTimeSpan(long.MaxValue, Nanoseconds));
    }

    [Fact]
    public void Now_SystemClock_IsTheSystemsMonotonicTime()
    {
        var before = MonotonicClock.ToTimeSpan(System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.Frequency);
        var now = MonotonicClock.Now(TimeProvider.System);
        var after = MonotonicClock.ToTimeSpan(System.Diagnostics.Stopwatch.GetTimestamp(), System.Diagnostics.Stopwatch.Frequency);

        Assert.InRange(now, before, after);
        Assert.True(now > TimeSpan.Zero);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void ToTimeSpan_FrequencyNotPositive_Throws(long frequency)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MonotonicClock.ToTimeSpan(1, frequency));
    }
}
