using System.Runtime.CompilerServices;

namespace Meshwire.WireGuard.Crypto;

/// <summary>16 bytes stored inline: MAC1, MAC2 and cookie values (BLAKE2s-128 outputs).</summary>
[InlineArray(Length)]
internal struct Bytes16
{
    public const int Length = 16;
    private byte _element0;
}
