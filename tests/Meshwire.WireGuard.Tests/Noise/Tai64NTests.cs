using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

public sealed class Tai64NTests
{
    [Fact]
    public void FromWallClock_UnixEpoch_IsLabelPlusTen()
    {
        var bytes = new byte[Tai64N.Length];
        Tai64N.FromWallClock(DateTimeOffset.UnixEpoch).Write(bytes);

        Assert.Equal("400000000000000a00000000", Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void FromWallClock_Nanoseconds_RoundedDownTo2Pow24()
    {
        var stamp = Tai64N.FromWallClock(DateTimeOffset.UnixEpoch.AddSeconds(1).AddMilliseconds(500));

        Assert.Equal(0x400000000000000bUL, stamp.Seconds);
        Assert.Equal(500_000_000u & 0xFF00_0000u, stamp.Nanoseconds);
    }

    [Fact]
    public void ReadWrite_RoundTrip_Equal()
    {
        var stamp = new Tai64N(0x4000_0000_1234_5678, 0x0A00_0000);
        var bytes = new byte[Tai64N.Length];
        stamp.Write(bytes);

        Assert.Equal(stamp, Tai64N.Read(bytes));
    }

    [Fact]
    public void Compare_LaterWallClock_Greater()
    {
        var earlier = Tai64N.FromWallClock(TestPair.Wall0);
        var later = Tai64N.FromWallClock(TestPair.Wall0.AddMilliseconds(17));

        Assert.True(later > earlier);
        Assert.True(earlier > default(Tai64N));
    }

    /// <summary>
    /// Wall-clock edges where a 32-bit count of seconds wraps (signed in 2038, unsigned in 2106), and an ordinary
    /// second: the stamp keeps the full seconds and still increases across the edge.
    /// </summary>
    [Theory]
    [InlineData(2_147_483_648L)] // 2038-01-19T03:14:08Z
    [InlineData(4_294_967_296L)] // 2106-02-07T06:28:16Z
    [InlineData(1_764_547_200L)] // 2025-12-01T00:00:00Z
    public void FromWallClock_AcrossSecondEdge_IncreasesAndKeepsFullSeconds(long edgeUnixSeconds)
    {
        var edge = DateTimeOffset.FromUnixTimeSeconds(edgeUnixSeconds);
        var before = Tai64N.FromWallClock(edge.AddMilliseconds(-17));
        var at = Tai64N.FromWallClock(edge);

        Assert.Equal(0x4000_0000_0000_000AUL + (ulong)edgeUnixSeconds, at.Seconds);
        Assert.Equal(0u, at.Nanoseconds);
        Assert.Equal(at.Seconds - 1, before.Seconds);
        Assert.True(at > before);
    }
}
