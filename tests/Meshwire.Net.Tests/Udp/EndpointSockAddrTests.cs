using System.Net;
using Meshwire.Core;
using Meshwire.Net.Interop;
using Meshwire.Net.Udp;

namespace Meshwire.Net.Tests.Udp;

public sealed unsafe class EndpointSockAddrTests
{
    [Theory]
    [InlineData("192.0.2.1:51820")]
    [InlineData("0.0.0.0:0")]
    [InlineData("[2001:db8::1]:65535")]
    [InlineData("[::1]:1")]
    public void FromEndpoint_ToEndpoint_RoundTrips(string text)
    {
        var endpoint = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse(text));

        EndpointSockAddr.FromEndpoint(endpoint, out var address);

        Assert.Equal(endpoint, EndpointSockAddr.ToEndpoint(in address));
    }

    [Fact]
    public void FromEndpoint_IPv4_IsV4MappedInNetworkOrder()
    {
        EndpointSockAddr.FromEndpoint(EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:258")), out var address);

        Assert.Equal(SocketConstants.AF_INET6, address.Family);
        var port = (byte*)&address.Port;
        Assert.Equal([1, 2], new[] { port[0], port[1] });
        Assert.Equal(
            new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 0, 2, 1 },
            new ReadOnlySpan<byte>(address.Address, 16).ToArray());
    }

    [Fact]
    public void ToEndpoint_V4Mapped_IsIPv4()
    {
        EndpointSockAddr.FromEndpoint(EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("10.0.0.1:9")), out var address);

        var endpoint = EndpointSockAddr.ToEndpoint(in address);

        Assert.True(endpoint.IsIPv4);
        Assert.Equal("10.0.0.1:9", endpoint.ToString());
    }
}
