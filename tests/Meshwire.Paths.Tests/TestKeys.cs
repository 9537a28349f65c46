using System.Security.Cryptography;
using Meshwire.Core;

namespace Meshwire.Paths.Tests;

internal static class TestKeys
{
    public static NodePublicKey NodeKey()
    {
        Span<byte> bytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(bytes);
        return NodePublicKey.FromSpan(bytes);
    }

    public static EndpointAddress V4(string text) => EndpointAddress.FromIPEndPoint(System.Net.IPEndPoint.Parse(text));
}
