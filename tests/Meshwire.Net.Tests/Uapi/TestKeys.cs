using Meshwire.Core;

namespace Meshwire.Net.Tests.Uapi;

internal static class TestKeys
{
    public static Key32 Key(byte seed) => Key32.FromSpan(Enumerable.Range(0, 32).Select(i => (byte)(seed + i)).ToArray());

    public static string Hex(byte seed) => Key(seed).ToHex();
}
