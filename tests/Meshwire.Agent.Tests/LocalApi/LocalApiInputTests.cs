using System.Net;
using Meshwire.Agent.LocalApi;

namespace Meshwire.Agent.Tests.LocalApi;

public sealed class LocalApiInputTests
{
    /// <summary>
    /// Found by the localapi-input fuzz target (fuzz/regressions/localapi-input/ipv4-leading-zero-octal): IPAddress.TryParse
    /// reads a part with a leading zero as octal, so "020.64.0.2" named 16.64.0.2.
    /// </summary>
    [Theory]
    [InlineData("020.64.0.2")]
    [InlineData("100.064.0.2")]
    [InlineData("100.64.00.2:80")]
    [InlineData("100.64.0.010")]
    public void TryParseAddress_PartWithLeadingZero_Refused(string text) =>
        Assert.False(LocalApiInput.TryParseAddress(text, out _, out _));

    [Theory]
    [InlineData("100.64.0.2", "100.64.0.2", null)]
    [InlineData("0.0.0.0", "0.0.0.0", null)]
    [InlineData("100.64.0.20:8080", "100.64.0.20", 8080)]
    public void TryParseAddress_DecimalParts_ReadAsWritten(string text, string expected, int? expectedPort)
    {
        Assert.True(LocalApiInput.TryParseAddress(text, out var address, out var port));
        Assert.Equal(IPAddress.Parse(expected), address);
        Assert.Equal(expectedPort, port);
    }

    /// <summary>
    /// Found by the localapi-input fuzz target (fuzz/regressions/localapi-input/duration-rounds-to-zero): a positive number
    /// too small for a tick was accepted as a zero duration, which the summary promises never to return.
    /// </summary>
    [Theory]
    [InlineData("0.000000000000000004")]
    [InlineData("0.00000001s")]
    [InlineData("0.00001ms")]
    public void TryParseDuration_BelowOneTick_Refused(string text) =>
        Assert.False(LocalApiInput.TryParseDuration(text, TimeSpan.FromMinutes(10), out _));

    [Theory]
    [InlineData("nan")]      // found by the localapi-input fuzz target: TimeSpan.FromSeconds(NaN) threw
    [InlineData("NaN")]
    [InlineData("nans")]
    [InlineData("NaNms")]
    [InlineData("Infinity")]
    [InlineData("infinitys")]
    public void TryParseDuration_NotANumberOrInfinite_RefusedWithoutThrowing(string text) =>
        Assert.False(LocalApiInput.TryParseDuration(text, TimeSpan.FromMinutes(10), out _));
}
