using Meshwire.Relay.Client;
using Meshwire.Relay.Server;
using Meshwire.Testing;

namespace Meshwire.Relay.Tests;

public sealed class RateAndBackoffTests
{
    // Monotonic time as a relay passes it: weeks into the host's uptime.
    private static readonly TimeSpan T0 = UptimeClock.WeeksOfUptime;

    [Fact]
    public void TryTake_BurstSpent_RefusesUntilRefilled()
    {
        var bucket = new TokenBucket(1000, 2000, T0);
        Assert.True(bucket.TryTake(1500, T0));
        Assert.False(bucket.TryTake(600, T0));
        Assert.True(bucket.TryTake(600, T0 + TimeSpan.FromMilliseconds(100)));
        Assert.False(bucket.TryTake(1000, T0 + TimeSpan.FromMilliseconds(100)));
        Assert.True(bucket.TryTake(2000, T0 + TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void TryTake_ZeroRate_Unlimited()
    {
        var bucket = new TokenBucket(0, 0, T0);
        Assert.True(bucket.TryTake(int.MaxValue, T0));
    }

    [Fact]
    public void Next_Failures_DoubleUpToMaxThenReset()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1));
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next(0));
        Assert.Equal(TimeSpan.FromMilliseconds(200), backoff.Next(0));
        Assert.Equal(TimeSpan.FromMilliseconds(400), backoff.Next(0));
        Assert.Equal(TimeSpan.FromMilliseconds(800), backoff.Next(0));
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.Next(0));
        Assert.Equal(TimeSpan.FromSeconds(0.5), backoff.Next(1));
        backoff.Reset();
        Assert.Equal(TimeSpan.FromMilliseconds(100), backoff.Next(0));
    }
}
