using System.Buffers.Binary;
using Meshwire.Core;
using Meshwire.Net.Interop;

namespace Meshwire.Net.Udp;

/// <summary>
/// sockaddr_in6 ⇄ EndpointAddress. The socket is dual-stack, so IPv4 peers appear as ::ffff:a.b.c.d,
/// which is exactly how EndpointAddress stores IPv4: the 16 address bytes copy straight across.
/// The IPv6 scope id is not kept (EndpointAddress has none).
/// </summary>
internal static unsafe class EndpointSockAddr
{
    public static EndpointAddress ToEndpoint(in SockAddrIn6 address)
    {
        fixed (byte* bytes = address.Address)
        {
            return EndpointAddress.FromBytes(new ReadOnlySpan<byte>(bytes, 16), NetworkOrder(address.Port));
        }
    }

    public static void FromEndpoint(EndpointAddress endpoint, out SockAddrIn6 address)
    {
        address = default;
        address.Family = SocketConstants.AF_INET6;
        address.Port = NetworkOrder(endpoint.Port);
        fixed (byte* bytes = address.Address)
        {
            endpoint.WriteAddress16(new Span<byte>(bytes, 16));
        }
    }

    /// <summary>Swaps between host and network byte order (the same operation both ways).</summary>
    private static ushort NetworkOrder(ushort value) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;
}
