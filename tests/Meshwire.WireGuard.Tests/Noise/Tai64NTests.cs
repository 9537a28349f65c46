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
}
