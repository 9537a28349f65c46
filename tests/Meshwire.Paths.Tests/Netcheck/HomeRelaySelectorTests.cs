using Meshwire.Paths.Netcheck;

namespace Meshwire.Paths.Tests.Netcheck;

public sealed class HomeRelaySelectorTests
{
    [Theory]
    [InlineData(0, "1=50,2=30", 2)] // no home yet: the fastest
    [InlineData(1, "1=50,2=30", 2)] // 20 ms and 40 % faster
    [InlineData(1, "1=50,2=41", 1)] // 9 ms faster: not enough
    [InlineData(1, "1=200,2=185", 1)] // 15 ms but 7.5 %: not enough
    [InlineData(1, "1=200,2=170", 2)] // 30 ms and 15 %
    [InlineData(1, "2=170,3=90", 3)] // home did not answer: the fastest
    [InlineData(4, "", 4)] // nothing measured: keep
    [InlineData(2, "1=30,2=30", 2)] // tie: keep
    [InlineData(0, "3=30,2=30", 2)] // tie without home: lower id
    public void Choose_KeepsTheHomeUnlessAnotherIsClearlyFaster(int current, string latencies, int expected)
    {
        var measured = latencies.Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('='))
            .ToDictionary(p => int.Parse(p[0], System.Globalization.CultureInfo.InvariantCulture), p => TimeSpan.FromMilliseconds(int.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Equal(expected, HomeRelaySelector.Choose(current, measured));
    }
}
