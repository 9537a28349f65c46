using Meshwire.Paths.Netcheck;

namespace Meshwire.Paths.Tests.Netcheck;

public sealed class NetcheckAnalyzerTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void Analyze_NoAnswers_NoUdpAndNothingKnown()
    {
        var report = NetcheckAnalyzer.Analyze([StunProbe.Lost(1, "a"), StunProbe.Lost(2, "b")]);

        Assert.False(report.Udp);
        Assert.Null(report.MappedV4);
        Assert.Null(report.MappedV6);
        Assert.Null(report.EndpointIndependentMapping);
        Assert.Empty(report.RegionLatency);
        Assert.Null(report.PreferredRegion);
    }

    [Fact]
    public void Analyze_OneAnswer_UdpButMappingUnknown()
    {
        var report = NetcheckAnalyzer.Analyze([StunProbe.Answered(1, "a", TestKeys.V4("198.51.100.1:4000"), 30 * Ms), StunProbe.Lost(2, "b")]);

        Assert.True(report.Udp);
        Assert.Equal(TestKeys.V4("198.51.100.1:4000"), report.MappedV4);
        Assert.Null(report.EndpointIndependentMapping);
        Assert.Equal(1, report.PreferredRegion);
    }

    [Theory]
    [InlineData("198.51.100.1:4000", "198.51.100.1:4000", true)]
    [InlineData("198.51.100.1:4000", "198.51.100.1:4001", false)]
    [InlineData("198.51.100.1:4000", "198.51.100.2:4000", false)]
    public void Analyze_TwoServers_MappingIndependentOnlyWhenTheySawTheSameAddressAndPort(string first, string second, bool expected)
    {
        var report = NetcheckAnalyzer.Analyze(
        [
            StunProbe.Answered(1, "a", TestKeys.V4(first), 30 * Ms),
            StunProbe.Answered(2, "b", TestKeys.V4(second), 50 * Ms),
        ]);

        Assert.Equal(expected, report.EndpointIndependentMapping);
        Assert.Equal(TestKeys.V4(first), report.MappedV4);
    }

    [Fact]
    public void Analyze_TwoAnswersFromOneServer_MappingUnknown()
    {
        var report = NetcheckAnalyzer.Analyze(
        [
            StunProbe.Answered(1, "a", TestKeys.V4("198.51.100.1:4000"), 30 * Ms),
            StunProbe.Answered(1, "a", TestKeys.V4("198.51.100.1:4000"), 31 * Ms),
        ]);

        Assert.Null(report.EndpointIndependentMapping);
    }

    [Fact]
    public void Analyze_V4AndV6_ReportsBothAndJudgesEachFamilyApart()
    {
        var report = NetcheckAnalyzer.Analyze(
        [
            StunProbe.Answered(1, "a4", TestKeys.V4("198.51.100.1:4000"), 30 * Ms),
            StunProbe.Answered(1, "a6", TestKeys.V4("[2001:db8::1]:4000"), 25 * Ms),
            StunProbe.Answered(2, "b6", TestKeys.V4("[2001:db8::1]:4000"), 60 * Ms),
        ]);

        Assert.Equal(TestKeys.V4("198.51.100.1:4000"), report.MappedV4);
        Assert.Equal(TestKeys.V4("[2001:db8::1]:4000"), report.MappedV6);
        Assert.True(report.EndpointIndependentMapping);
    }

    [Fact]
    public void Analyze_SeveralServersPerRegion_KeepsTheBestLatencyAndPrefersTheFastestRegion()
    {
        var mapped = TestKeys.V4("198.51.100.1:4000");
        var report = NetcheckAnalyzer.Analyze(
        [
            StunProbe.Answered(1, "par-1", mapped, 45 * Ms),
            StunProbe.Answered(1, "par-2", mapped, 35 * Ms),
            StunProbe.Answered(2, "fra-1", mapped, 20 * Ms),
            StunProbe.Lost(3, "nyc-1"),
        ]);

        Assert.Equal(new Dictionary<int, TimeSpan> { [1] = 35 * Ms, [2] = 20 * Ms }, report.RegionLatency);
        Assert.Equal(2, report.PreferredRegion);
        Assert.True(report.EndpointIndependentMapping);
    }
}
