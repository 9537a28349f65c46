using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Meshwire.WireGuard.Routing;

/// <summary>
/// Cryptokey routing's table (whitepaper 2): maps IP prefixes to their owner (a peer) and answers longest-prefix match
/// for outgoing packets' destinations and incoming packets' sources.
/// </summary>
/// <remarks>
/// <para>
/// One path-compressed binary trie per address family. Addresses are held as 128-bit integers aligned to the most
/// significant bit (an IPv4 address occupies the top 32 bits), so both families share one algorithm. A node stores a
/// masked prefix and its length; its children extend it and differ in the bit right after it. Nodes without an owner
/// exist only where two branches split, so the trie has fewer than 2n nodes for n prefixes.
/// </para>
/// <para>
/// Complexity, with W the address width (32 or 128 bits) and n the number of prefixes: <see cref="Lookup"/> visits at
/// most W + 1 nodes, O(W), allocation free. <see cref="Insert"/> and <see cref="Remove"/> are O(W) time and allocate
/// at most W + 2 nodes. <see cref="RemoveAll"/> and <see cref="PrefixesOf"/> are O(n).
/// </para>
/// <para>
/// Concurrency: nodes are immutable. A mutation copies the path from the root to the touched node and publishes the
/// new root with a volatile write, so <see cref="Lookup"/> runs lock free on any number of threads and always sees a
/// whole table, before or after each change. Mutations are rare (configuration changes) and must be serialised by the
/// caller.
/// </para>
/// </remarks>
public sealed class AllowedIps<T>
    where T : class
{
    private Node? _v4;
    private Node? _v6;

    /// <summary>Makes <paramref name="value"/> the owner of <paramref name="prefix"/> (host bits ignored), replacing any previous owner.</summary>
    public void Insert(IPNetwork prefix, T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (key, cidr, isV6) = ToKey(prefix);
        if (isV6)
        {
            Volatile.Write(ref _v6, Insert(_v6, key, cidr, value));
        }
        else
        {
            Volatile.Write(ref _v4, Insert(_v4, key, cidr, value));
        }
    }

    /// <summary>Removes <paramref name="prefix"/> if <paramref name="value"/> owns it; returns whether it did.</summary>
    public bool Remove(IPNetwork prefix, T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var (key, cidr, isV6) = ToKey(prefix);
        var removed = false;
        if (isV6)
        {
            var root = Remove(_v6, key, cidr, value, ref removed);
            if (removed)
            {
                Volatile.Write(ref _v6, root);
            }
        }
        else
        {
            var root = Remove(_v4, key, cidr, value, ref removed);
            if (removed)
            {
                Volatile.Write(ref _v4, root);
            }
        }

        return removed;
    }

    /// <summary>Removes every prefix <paramref name="value"/> owns (peer removed, allowed IPs replaced).</summary>
    public void RemoveAll(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        Volatile.Write(ref _v4, RemoveAll(_v4, value));
        Volatile.Write(ref _v6, RemoveAll(_v6, value));
    }

    /// <summary>Removes every prefix.</summary>
    public void Clear()
    {
        Volatile.Write(ref _v4, null);
        Volatile.Write(ref _v6, null);
    }

    /// <summary>
    /// The owner of the longest prefix containing <paramref name="address"/> (4 or 16 bytes, network order), or null
    /// when none does or the length is neither. Lock free, allocation free, never throws.
    /// </summary>
    public T? Lookup(ReadOnlySpan<byte> address)
    {
        UInt128 key;
        Node? node;
        if (address.Length == 4)
        {
            key = (UInt128)BinaryPrimitives.ReadUInt32BigEndian(address) << 96;
            node = Volatile.Read(ref _v4);
        }
        else if (address.Length == 16)
        {
            key = BinaryPrimitives.ReadUInt128BigEndian(address);
            node = Volatile.Read(ref _v6);
        }
        else
        {
            return null;
        }

        T? best = null;
        while (node is not null && ((key ^ node.Key) & node.Mask) == UInt128.Zero)
        {
            best = node.Value ?? best;
            if (node.Cidr == 128)
            {
                break;
            }

            node = Bit(key, node.Cidr) == 0 ? node.Zero : node.One;
        }

        return best;
    }

    /// <summary>The prefixes <paramref name="value"/> owns, IPv4 first, each family in address order.</summary>
    public IReadOnlyList<IPNetwork> PrefixesOf(T value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var result = new List<IPNetwork>();
        Collect(Volatile.Read(ref _v4), value, isV6: false, result);
        Collect(Volatile.Read(ref _v6), value, isV6: true, result);
        return result;
    }

    private static Node Insert(Node? node, UInt128 key, int cidr, T value)
    {
        if (node is null)
        {
            return new Node(key, cidr, value, null, null);
        }

        var common = Math.Min(CommonPrefixLength(node.Key, key), Math.Min(node.Cidr, cidr));
        if (common == node.Cidr)
        {
            if (cidr == node.Cidr)
            {
                return new Node(node.Key, node.Cidr, value, node.Zero, node.One);
            }

            return Bit(key, node.Cidr) == 0
                ? new Node(node.Key, node.Cidr, node.Value, Insert(node.Zero, key, cidr, value), node.One)
                : new Node(node.Key, node.Cidr, node.Value, node.Zero, Insert(node.One, key, cidr, value));
        }

        if (common == cidr)
        {
            // The new prefix contains the node: it goes above it.
            return Bit(node.Key, cidr) == 0
                ? new Node(key, cidr, value, node, null)
                : new Node(key, cidr, value, null, node);
        }

        // The two diverge after `common` bits: a branching node without owner joins them.
        var leaf = new Node(key, cidr, value, null, null);
        return Bit(key, common) == 0
            ? new Node(key & MaskOf(common), common, null, leaf, node)
            : new Node(key & MaskOf(common), common, null, node, leaf);
    }

    private static Node? Remove(Node? node, UInt128 key, int cidr, T value, ref bool removed)
    {
        if (node is null || cidr < node.Cidr || CommonPrefixLength(node.Key, key) < node.Cidr)
        {
            return node;
        }

        if (cidr == node.Cidr)
        {
            if (!ReferenceEquals(node.Value, value))
            {
                return node;
            }

            removed = true;
            return Compact(node, null, node.Zero, node.One);
        }

        if (Bit(key, node.Cidr) == 0)
        {
            var zero = Remove(node.Zero, key, cidr, value, ref removed);
            return removed ? Compact(node, node.Value, zero, node.One) : node;
        }

        var one = Remove(node.One, key, cidr, value, ref removed);
        return removed ? Compact(node, node.Value, node.Zero, one) : node;
    }

    private static Node? RemoveAll(Node? node, T value)
    {
        if (node is null)
        {
            return null;
        }

        var zero = RemoveAll(node.Zero, value);
        var one = RemoveAll(node.One, value);
        var owner = ReferenceEquals(node.Value, value) ? null : node.Value;
        if (ReferenceEquals(zero, node.Zero) && ReferenceEquals(one, node.One) && ReferenceEquals(owner, node.Value))
        {
            return node;
        }

        return Compact(node, owner, zero, one);
    }

    // Rebuilds `node` with new contents, dropping it when it would be an ownerless node with fewer than two children.
    private static Node? Compact(Node node, T? value, Node? zero, Node? one)
    {
        if (value is null)
        {
            if (zero is null)
            {
                return one;
            }

            if (one is null)
            {
                return zero;
            }
        }

        return new Node(node.Key, node.Cidr, value, zero, one);
    }

    private static void Collect(Node? node, T value, bool isV6, List<IPNetwork> result)
    {
        if (node is null)
        {
            return;
        }

        if (ReferenceEquals(node.Value, value))
        {
            result.Add(ToNetwork(node.Key, node.Cidr, isV6));
        }

        Collect(node.Zero, value, isV6, result);
        Collect(node.One, value, isV6, result);
    }

    private static (UInt128 Key, int Cidr, bool IsV6) ToKey(IPNetwork prefix)
    {
        var address = prefix.BaseAddress ?? throw new ArgumentException("The prefix has no address.", nameof(prefix));
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            throw new ArgumentException($"Cannot read the address of {prefix}.", nameof(prefix));
        }

        var cidr = prefix.PrefixLength;
        return address.AddressFamily switch
        {
            AddressFamily.InterNetwork when written == 4 && cidr is >= 0 and <= 32 =>
                (((UInt128)BinaryPrimitives.ReadUInt32BigEndian(bytes) << 96) & MaskOf(cidr), cidr, false),
            AddressFamily.InterNetworkV6 when written == 16 && cidr is >= 0 and <= 128 =>
                (BinaryPrimitives.ReadUInt128BigEndian(bytes) & MaskOf(cidr), cidr, true),
            _ => throw new ArgumentException($"{prefix} is not an IPv4 or IPv6 prefix.", nameof(prefix)),
        };
    }

    private static IPNetwork ToNetwork(UInt128 key, int cidr, bool isV6)
    {
        if (isV6)
        {
            Span<byte> bytes = stackalloc byte[16];
            BinaryPrimitives.WriteUInt128BigEndian(bytes, key);
            return new IPNetwork(new IPAddress(bytes), cidr);
        }

        Span<byte> v4 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(v4, (uint)(key >> 96));
        return new IPNetwork(new IPAddress(v4), cidr);
    }

    private static int CommonPrefixLength(UInt128 a, UInt128 b) => (int)UInt128.LeadingZeroCount(a ^ b);

    // Bit `position` counted from the most significant bit; position is below 128.
    private static int Bit(UInt128 key, int position) => (int)(key >> (127 - position)) & 1;

    private static UInt128 MaskOf(int cidr) => cidr == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - cidr);

    /// <summary>An immutable trie node: a masked prefix, its owner (null for a pure branching point), two subtries.</summary>
    private sealed class Node(UInt128 key, int cidr, T? value, Node? zero, Node? one)
    {
        public readonly UInt128 Key = key;
        public readonly UInt128 Mask = MaskOf(cidr);
        public readonly int Cidr = cidr;
        public readonly T? Value = value;

        // Subtries whose prefixes continue with a 0 or a 1 bit at position Cidr.
        public readonly Node? Zero = zero;
        public readonly Node? One = one;
    }
}
