using Meshwire.Relay.Client;
using Meshwire.Relay.Server;

namespace Meshwire.Relay.Tests;

public sealed class RateAndBackoffTests
{
    [Fact]
    public void TryTake_BurstSpent_RefusesUntilRefilled()
    {
        var bucket = new TokenBucket(1000, 2000, TimeSpan.Zero);
        Assert.True(bucket.TryTake(1500, TimeSpan.Zero));
        Assert.False(bucket.TryTake(600, TimeSpan.Zero));
        Assert.True(bucket.TryTake(600, TimeSpan.FromMilliseconds(100)));
        Assert.False(bucket.TryTake(1000, TimeSpan.FromMilliseconds(100)));
        Assert.True(bucket.TryTake(2000, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void TryTake_ZeroRate_Unlimited()
    {
        var bucket = new TokenBucket(0, 0, TimeSpan.Zero);
        Assert.True(bucket.TryTake(int.MaxValue, TimeSpan.Zero));
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
