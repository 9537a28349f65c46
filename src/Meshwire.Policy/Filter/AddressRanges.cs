using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Meshwire.Policy.Filter;

/// <summary>
/// A set of addresses of one family as sorted, merged, disjoint [first, last] ranges; membership is a
/// binary search, O(log ranges), no allocation. IPv4 uses the low 32 bits.
/// </summary>
internal sealed class AddressRanges
{
    private readonly UInt128[] _first;
    private readonly UInt128[] _last;

    private AddressRanges(UInt128[] first, UInt128[] last)
    {
        _first = first;
        _last = last;
    }

    public bool IsEmpty => _first.Length == 0;

    public static AddressRanges From(IEnumerable<IPNetwork> prefixes, AddressFamily family)
    {
        var ranges = prefixes.Where(p => p.BaseAddress.AddressFamily == family).Select(ToRange).OrderBy(r => r.First).ToList();
        var first = new List<UInt128>();
        var last = new List<UInt128>();
        foreach (var (start, end) in ranges)
        {
            if (last.Count > 0 && (last[^1] == UInt128.MaxValue || start <= last[^1] + 1))
            {
                if (end > last[^1])
                {
                    last[^1] = end;
                }
            }
            else
            {
                first.Add(start);
                last.Add(end);
            }
        }

        return new AddressRanges([.. first], [.. last]);
    }

    public bool Contains(UInt128 address)
    {
        // Find the last range starting at or before the address.
        int lo = 0, hi = _first.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = lo + ((hi - lo) >> 1);
            if (_first[mid] <= address)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found >= 0 && address <= _last[found];
    }

    public static (UInt128 First, UInt128 Last) ToRange(IPNetwork prefix)
    {
        var value = ToValue(prefix.BaseAddress);
        var width = prefix.BaseAddress.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var hostBits = width - prefix.PrefixLength;
        var hostMask = hostBits == 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
        return (value & ~hostMask, value | hostMask);
    }

    public static UInt128 ToValue(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var written);
        return written == 4 ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
