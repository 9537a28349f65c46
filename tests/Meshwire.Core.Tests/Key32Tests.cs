using Meshwire.Core;

namespace Meshwire.Core.Tests;

public sealed class Key32Tests
{
    [Fact]
    public void TryParseHex_RoundTrip_PreservesBytes()
    {
        var bytes = Enumerable.Range(0, 32).Select(i => (byte)(i * 7)).ToArray();
        var key = Key32.FromSpan(bytes);
        Assert.True(Key32.TryParseHex(key.ToHex(), out var parsed));
        Assert.Equal(key, parsed);
        Assert.Equal(bytes, parsed.Span.ToArray());
    }

    [Fact]
    public void TryParseBase64_RoundTrip_PreservesBytes()
    {
        var key = Key32.FromSpan(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        Assert.True(Key32.TryParseBase64(key.ToBase64(), out var parsed));
        Assert.Equal(key, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("00")]
    [InlineData("zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("000000000000000000000000000000000000000000000000000000000000000000")]
    public void TryParseHex_Malformed_ReturnsFalse(string text) => Assert.False(Key32.TryParseHex(text, out _));

    [Theory]
    [InlineData("")]
    [InlineData("AAAA")]
    [InlineData("!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    public void TryParseBase64_Malformed_ReturnsFalse(string text) => Assert.False(Key32.TryParseBase64(text, out _));

    [Fact]
    public void IsZero_OnlyForAllZeroKey()
    {
        Assert.True(Key32.Zero.IsZero);
        var one = new byte[32];
        one[31] = 1;
        Assert.False(Key32.FromSpan(one).IsZero);
    }

    [Fact]
    public void NodePublicKey_ToString_HasPrefix()
    {
        var key = new NodePublicKey(Key32.FromSpan(new byte[32]));
        Assert.StartsWith("nodekey:", key.ToString());
        Assert.DoesNotContain("00", new NodePrivateKey(Key32.Zero).ToString());
    }
}

public sealed class EndpointAddressTests
{
    [Theory]
    [InlineData("10.0.0.1", 51820, "10.0.0.1:51820")]
    [InlineData("fd00::1", 443, "[fd00::1]:443")]
    public void FromIPEndPoint_RoundTrips(string ip, int port, string text)
    {
        var ep = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port);
        var value = EndpointAddress.FromIPEndPoint(ep);
        Assert.Equal(ep, value.ToIPEndPoint());
        Assert.Equal(text, value.ToString());
        Assert.Equal(ip.Contains('.'), value.IsIPv4);
    }

    [Fact]
    public void Equals_ComparesAddressAndPort()
    {
        var a = EndpointAddress.FromBytes([10, 0, 0, 1], 1);
        Assert.Equal(a, EndpointAddress.FromBytes([10, 0, 0, 1], 1));
        Assert.NotEqual(a, EndpointAddress.FromBytes([10, 0, 0, 1], 2));
        Assert.NotEqual(a, EndpointAddress.FromBytes([10, 0, 0, 2], 1));
    }
}
