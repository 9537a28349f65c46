using System.Net;
using Meshwire.Core;
using Meshwire.Testing;
using Meshwire.WireGuard.Device;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>The per-source token bucket: 20 a second, bursts of 5, by IP address, bounded and aged out.</summary>
public sealed class HandshakeRateLimiterTests
{
    private static readonly EndpointAddress Source = At("192.0.2.10:51820");

    private readonly UptimeClock _clock = new();

    private TimeSpan Now => _clock.Uptime;

    [Fact]
    public void Allow_FreshSource_AllowsTheBurstThenRefuses()
    {
        var limiter = new HandshakeRateLimiter();

        var allowed = Enumerable.Range(0, 20).Count(_ => limiter.Allow(Source, Now));

        Assert.Equal(HandshakeRateLimiter.PacketsBurstable, allowed);
    }

    [Fact]
    public void Allow_AfterOneTwentiethOfASecond_AllowsExactlyOneMore()
    {
        var limiter = new HandshakeRateLimiter();
        Exhaust(limiter, Source);

        _clock.Advance(TimeSpan.FromMilliseconds(49));
        Assert.False(limiter.Allow(Source, Now));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.Allow(Source, Now));
        Assert.False(limiter.Allow(Source, Now));
    }

    [Fact]
    public void Allow_SteadyFlood_PassesTheRatePlusOneBurst()
    {
        var limiter = new HandshakeRateLimiter();
        var allowed = 0;

        // One attempt a millisecond for 10 s: 5 (burst) + 10 s × 20/s.
        for (var i = 0; i < 10_000; i++)
        {
            allowed += limiter.Allow(Source, Now) ? 1 : 0;
            _clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.InRange(allowed, 204, 206);
    }

    [Fact]
    public void Allow_LongIdle_RefillsOnlyToTheBurst()
    {
        var limiter = new HandshakeRateLimiter();
        Exhaust(limiter, Source);

        _clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(HandshakeRateLimiter.PacketsBurstable, Enumerable.Range(0, 20).Count(_ => limiter.Allow(Source, Now)));
    }

    [Theory]
    [InlineData("192.0.2.10:1", "192.0.2.10:2", true)]
    [InlineData("192.0.2.10:1", "192.0.2.11:1", false)]
    [InlineData("[2001:db8:1:2::1]:1", "[2001:db8:1:2::1]:7", true)]
    [InlineData("[2001:db8:1:2::1]:1", "[2001:db8:1:2::2]:1", false)]
    [InlineData("[fd7a:115c:a1e0:ffff::1]:9", "[fd7a:115c:a1e0:ffff::2]:9", false)]
    [InlineData("[::ffff:192.0.2.10]:1", "192.0.2.10:1", true)]
    public void Allow_SecondSource_SharesTheBucketOnlyWithTheSameAddress(string first, string second, bool shared)
    {
        var limiter = new HandshakeRateLimiter();
        Exhaust(limiter, At(first));

        Assert.Equal(!shared, limiter.Allow(At(second), Now));
    }

    [Fact]
    public void Allow_TableFull_RefusesNewSourcesUntilIdleOnesAgeOut()
    {
        var limiter = new HandshakeRateLimiter(maxEntries: 4);
        for (var i = 1; i <= 4; i++)
        {
            Assert.True(limiter.Allow(At($"192.0.2.{i}:1"), Now));
        }

        var newcomer = At("198.51.100.1:1");
        Assert.False(limiter.Allow(newcomer, Now));
        Assert.Equal(4, limiter.Count);

        _clock.Advance(HandshakeRateLimiter.GarbageCollectTime + TimeSpan.FromMilliseconds(1));

        Assert.True(limiter.Allow(newcomer, Now));
        Assert.Equal(1, limiter.Count);
    }

    [Fact]
    public void Allow_SourceStillSending_IsNotAgedOut()
    {
        var limiter = new HandshakeRateLimiter(maxEntries: 1);
        for (var i = 0; i < 30; i++)
        {
            limiter.Allow(Source, Now);
            _clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        // The flooding source keeps its (empty) bucket: forgetting it would hand it a fresh burst.
        Assert.Equal(1, limiter.Count);
        Assert.False(limiter.Allow(At("198.51.100.1:1"), Now));
    }

    [Fact]
    public void Allow_AcrossEveryOverflowBoundaryOfTheClock_KeepsTheRate()
    {
        foreach (var boundary in UptimeClock.Boundaries)
        {
            var clock = new UptimeClock(boundary - TimeSpan.FromSeconds(1));
            var limiter = new HandshakeRateLimiter();
            var allowed = 0;
            for (var i = 0; i < 2_000; i++)
            {
                allowed += limiter.Allow(Source, clock.Uptime) ? 1 : 0;
                clock.Advance(TimeSpan.FromMilliseconds(1));
            }

            Assert.InRange(allowed, 44, 46);
        }
    }

    private void Exhaust(HandshakeRateLimiter limiter, EndpointAddress source)
    {
        while (limiter.Allow(source, Now))
        {
        }
    }

    private static EndpointAddress At(string endpoint) => EndpointAddress.FromIPEndPoint(IPEndPoint.Parse(endpoint));
}
