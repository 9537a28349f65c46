using System.Net;

namespace Meshwire.Core.Tests;

public sealed class KeyedRateLimiterTests
{
    // Weeks of uptime, as on a real host (tests/Shared/README.md).
    private static readonly TimeSpan Start = TimeSpan.FromDays(21);

    [Fact]
    public void TryTake_ManyKeys_BoundedAndFreshKeysShareOverflow()
    {
        var now = Start;
        var limiter = new KeyedRateLimiter<int>(perSecond: 1, burst: 2, capacity: 100, now);
        for (var key = 0; key < 100; key++)
        {
            Assert.True(limiter.TryTake(key, now, out _));
        }

        // The table is full of draining buckets: new keys share one overflow bucket of the same size.
        Assert.True(limiter.TryTake(1000, now, out _));
        Assert.True(limiter.TryTake(1001, now, out _));
        Assert.False(limiter.TryTake(1002, now, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait);
        Assert.Equal(100, limiter.Count);

        // Once the tracked buckets are full again they carry nothing and make room.
        now += TimeSpan.FromMinutes(1);
        Assert.True(limiter.TryTake(2000, now, out _));
        Assert.Equal(1, limiter.Count);
    }

    [Fact]
    public void TryTake_ZeroRate_UnlimitedAndTracksNothing()
    {
        var limiter = new KeyedRateLimiter<int>(perSecond: 0, burst: 0, capacity: 1, Start);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryTake(i, Start, out _));
        }

        Assert.Equal(0, limiter.Count);
    }

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)]  // one /64: one key
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    [InlineData("192.0.2.1", "::ffff:192.0.2.1", true)]             // IPv4-mapped folded to IPv4
    [InlineData("192.0.2.1", "192.0.2.2", false)]
    [InlineData("0.0.0.0", "::", false)]                            // families never share a key
    public void SourceAddress_Of_KeysByIPv4OrIPv6Slash64(string a, string b, bool same)
    {
        Assert.Equal(same, SourceAddress.Of(IPAddress.Parse(a)) == SourceAddress.Of(IPAddress.Parse(b)));
    }
}
