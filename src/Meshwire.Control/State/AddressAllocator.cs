using System.Buffers.Binary;
using System.Net;

namespace Meshwire.Control.State;

/// <summary>
/// Hands out tailnet addresses: IPv4 from 100.64.0.0/10 (CGNAT, RFC 6598) and IPv6 from fd7a:115c:a1e0::/48
/// (a ULA prefix, RFC 4193). An address is never given to a second node while the node holding it exists.
/// Allocation walks forward from the last address handed out, so a freed address is reused only after the whole
/// range wrapped: peers that cached the old owner's address see it change as late as possible.
/// Not thread-safe: used under the control service's write lock.
/// </summary>
internal sealed class AddressAllocator
{
    // 100.64.0.0/10: host part is 22 bits. .0 and the broadcast-looking .255 of each /24 are skipped for friendliness.
    private const uint V4Base = 0x64400000;
    private const uint V4Size = 1u << 22;
    private static readonly byte[] V6Prefix = [0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0];

    private readonly HashSet<uint> _used = [];
    private uint _next = 1;

    public void MarkUsed(IPAddress v4) => _used.Add(ToOffset(v4));

    public void Release(IPAddress v4) => _used.Remove(ToOffset(v4));

    /// <summary>The next free IPv4 and the IPv6 built from the same host number (so both are predictable from each other).</summary>
    public (IPAddress V4, IPAddress V6) Allocate()
    {
        for (uint tries = 0; tries < V4Size; tries++)
        {
            var offset = _next;
            _next = _next + 1 >= V4Size ? 1 : _next + 1;
            var low = offset & 0xFF;
            if (low == 0 || low == 255 || _used.Contains(offset))
            {
                continue;
            }

            _used.Add(offset);
            return (V4Of(offset), V6Of(offset));
        }

        throw new InvalidOperationException("the tailnet has no free IPv4 address left in 100.64.0.0/10");
    }

    /// <summary>Resumes after a restart: the next allocation follows the highest address in use.</summary>
    public void ResumeAfterHighest()
    {
        if (_used.Count > 0)
        {
            _next = _used.Max() + 1 >= V4Size ? 1 : _used.Max() + 1;
        }
    }

    private static uint ToOffset(IPAddress v4)
    {
        Span<byte> b = stackalloc byte[4];
        v4.TryWriteBytes(b, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(b) - V4Base;
    }

    private static IPAddress V4Of(uint offset)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, V4Base + offset);
        return new IPAddress(b);
    }

    private static IPAddress V6Of(uint offset)
    {
        Span<byte> b = stackalloc byte[16];
        V6Prefix.CopyTo(b);
        BinaryPrimitives.WriteUInt32BigEndian(b[12..], offset);
        return new IPAddress(b);
    }
}
