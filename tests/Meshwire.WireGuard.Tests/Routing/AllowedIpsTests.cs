using System.Net;
using Meshwire.WireGuard.Routing;

namespace Meshwire.WireGuard.Tests.Routing;

public sealed class AllowedIpsTests
{
    private sealed record Peer(string Name);

    private static readonly Peer A = new("a");
    private static readonly Peer B = new("b");
    private static readonly Peer C = new("c");

    private static IPNetwork P(string text) => IPNetwork.Parse(text);

    private static Peer? Find(AllowedIps<Peer> table, string address) => table.Lookup(IPAddress.Parse(address).GetAddressBytes());

    [Fact]
    public void Lookup_Empty_Null()
    {
        var table = new AllowedIps<Peer>();
        Assert.Null(Find(table, "10.0.0.1"));
        Assert.Null(Find(table, "::1"));
    }

    [Fact]
    public void Lookup_V4_LongestPrefixWins()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.1.0.0/16"), B);
        table.Insert(P("10.1.2.0/24"), C);

        Assert.Same(A, Find(table, "10.200.0.1"));
        Assert.Same(B, Find(table, "10.1.200.1"));
        Assert.Same(C, Find(table, "10.1.2.3"));
        Assert.Null(Find(table, "11.0.0.1"));
    }

    [Fact]
    public void Lookup_V4_InsertionOrderIrrelevant()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.1.2.0/24"), C);
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.1.0.0/16"), B);

        Assert.Same(A, Find(table, "10.2.0.1"));
        Assert.Same(B, Find(table, "10.1.3.1"));
        Assert.Same(C, Find(table, "10.1.2.255"));
    }

    [Fact]
    public void Lookup_V6_LongestPrefixWins()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("fd7a:115c:a1e0::/48"), A);
        table.Insert(P("fd7a:115c:a1e0:ab12::/64"), B);
        table.Insert(P("2001:db8::/32"), C);

        Assert.Same(A, Find(table, "fd7a:115c:a1e0:1::1"));
        Assert.Same(B, Find(table, "fd7a:115c:a1e0:ab12:4843:cd96:6258:b240"));
        Assert.Same(C, Find(table, "2001:db8:ffff::1"));
        Assert.Null(Find(table, "fe80::1"));
    }

    [Fact]
    public void Lookup_FamiliesSeparate()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("0.0.0.0/0"), A);

        Assert.Same(A, Find(table, "192.0.2.1"));
        Assert.Null(Find(table, "::"));
        Assert.Null(Find(table, "::ffff:192.0.2.1"));
    }

    [Fact]
    public void Lookup_DefaultRoutesAndHostRoutes()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("0.0.0.0/0"), A);
        table.Insert(P("::/0"), A);
        table.Insert(P("192.0.2.7/32"), B);
        table.Insert(P("2001:db8::7/128"), B);

        Assert.Same(B, Find(table, "192.0.2.7"));
        Assert.Same(A, Find(table, "192.0.2.6"));
        Assert.Same(A, Find(table, "192.0.2.8"));
        Assert.Same(B, Find(table, "2001:db8::7"));
        Assert.Same(A, Find(table, "2001:db8::6"));
        Assert.Same(A, Find(table, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        Assert.Same(A, Find(table, "255.255.255.255"));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(15)]
    [InlineData(17)]
    public void Lookup_WrongAddressLength_Null(int length)
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("0.0.0.0/0"), A);
        table.Insert(P("::/0"), A);
        Assert.Null(table.Lookup(new byte[length]));
    }

    [Fact]
    public void Insert_IdenticalPrefix_ReplacesOwner()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/24"), A);
        table.Insert(P("10.0.0.0/24"), B);

        Assert.Same(B, Find(table, "10.0.0.9"));
        Assert.Empty(table.PrefixesOf(A));
        Assert.Equal([P("10.0.0.0/24")], table.PrefixesOf(B));
    }

    [Fact]
    public void Insert_HostBitsSet_Masked()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(new IPNetwork(IPAddress.Parse("10.0.0.0"), 24), A);
        table.Insert(new IPNetwork(IPAddress.Parse("10.0.0.77"), 24), B);
        table.Insert(new IPNetwork(IPAddress.Parse("2001:db8::1234"), 64), C);

        Assert.Same(B, Find(table, "10.0.0.1"));
        Assert.Equal([P("10.0.0.0/24")], table.PrefixesOf(B));
        Assert.Equal([P("2001:db8::/64")], table.PrefixesOf(C));
    }

    [Fact]
    public void Remove_OwnedPrefix_FallsBackToShorter()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.1.0.0/16"), B);

        Assert.True(table.Remove(P("10.1.0.0/16"), B));

        Assert.Same(A, Find(table, "10.1.0.1"));
        Assert.Empty(table.PrefixesOf(B));
    }

    [Fact]
    public void Remove_WrongOwnerOrAbsent_False()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.1.0.0/16"), B);

        Assert.False(table.Remove(P("10.1.0.0/16"), A));
        Assert.False(table.Remove(P("10.1.0.0/17"), B));
        Assert.False(table.Remove(P("10.0.0.0/8"), B));
        Assert.False(table.Remove(P("10.1.0.0/16"), C));
        Assert.Same(B, Find(table, "10.1.0.1"));
    }

    [Fact]
    public void Remove_BranchingParentKeepsOtherChild()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/24"), A);
        table.Insert(P("10.0.1.0/24"), B);
        table.Insert(P("10.0.0.0/16"), C);

        Assert.True(table.Remove(P("10.0.0.0/16"), C));
        Assert.True(table.Remove(P("10.0.0.0/24"), A));

        Assert.Same(B, Find(table, "10.0.1.1"));
        Assert.Null(Find(table, "10.0.0.1"));
        Assert.Null(Find(table, "10.0.2.1"));
    }

    [Fact]
    public void RemoveAll_DropsOnlyThatOwner()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.1.0.0/16"), B);
        table.Insert(P("10.1.1.0/24"), A);
        table.Insert(P("fd00::/8"), A);
        table.Insert(P("fd00:1::/32"), B);

        table.RemoveAll(A);

        Assert.Null(Find(table, "10.2.0.1"));
        Assert.Same(B, Find(table, "10.1.1.1"));
        Assert.Null(Find(table, "fd00:2::1"));
        Assert.Same(B, Find(table, "fd00:1::1"));
        Assert.Empty(table.PrefixesOf(A));
        Assert.Equal([P("10.1.0.0/16"), P("fd00:1::/32")], table.PrefixesOf(B));
    }

    [Fact]
    public void PrefixesOf_ListsV4ThenV6InAddressOrder()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("fd00::/8"), A);
        table.Insert(P("192.168.0.0/16"), A);
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.0.0.0/16"), A);
        table.Insert(P("0.0.0.0/0"), B);

        Assert.Equal([P("10.0.0.0/8"), P("10.0.0.0/16"), P("192.168.0.0/16"), P("fd00::/8")], table.PrefixesOf(A));
        Assert.Equal([P("0.0.0.0/0")], table.PrefixesOf(B));
    }

    [Fact]
    public void Clear_RemovesEverything()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("0.0.0.0/0"), A);
        table.Insert(P("::/0"), A);
        table.Clear();
        Assert.Null(Find(table, "1.1.1.1"));
        Assert.Empty(table.PrefixesOf(A));
    }

    [Fact]
    public void Lookup_SteadyState_AllocatesNothing()
    {
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/8"), A);
        table.Insert(P("10.1.0.0/16"), B);
        table.Insert(P("2001:db8::/32"), C);
        ReadOnlySpan<byte> v4 = [10, 1, 2, 3];
        ReadOnlySpan<byte> v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        table.Lookup(v4);
        table.Lookup(v6);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            table.Lookup(v4);
            table.Lookup(v6);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Lookup_RandomTable_MatchesLinearScan(bool v6)
    {
        var rng = new Random(v6 ? 6 : 4);
        var width = v6 ? 128 : 32;
        var peers = Enumerable.Range(0, 8).Select(i => new Peer($"p{i}")).ToArray();
        var table = new AllowedIps<Peer>();
        var naive = new NaiveTable(width);

        // Clustered prefixes so that many share leading bits: random bits under a few random roots.
        var roots = Enumerable.Range(0, 4).Select(_ => RandomKey(rng, width)).ToArray();
        for (var i = 0; i < 600; i++)
        {
            var key = roots[rng.Next(roots.Length)] ^ (RandomKey(rng, width) >> rng.Next(4, width));
            var cidr = rng.Next(0, width + 1);
            var peer = peers[rng.Next(peers.Length)];
            var network = NaiveTable.ToNetwork(key, cidr, width);
            table.Insert(network, peer);
            naive.Insert(key, cidr, peer);

            if (i % 5 == 4)
            {
                var (victimKey, victimCidr, victimPeer) = naive.Entries[rng.Next(naive.Entries.Count)];
                Assert.True(table.Remove(NaiveTable.ToNetwork(victimKey, victimCidr, width), victimPeer));
                naive.Remove(victimKey, victimCidr);
            }
        }

        table.RemoveAll(peers[0]);
        naive.RemoveAll(peers[0]);

        var bytes = new byte[width / 8];
        for (var i = 0; i < 10_000; i++)
        {
            var address = i % 2 == 0 ? RandomKey(rng, width) : roots[rng.Next(roots.Length)] ^ (RandomKey(rng, width) >> rng.Next(0, width));
            NaiveTable.WriteAddress(address, bytes, width);
            Assert.Same(naive.Lookup(address), table.Lookup(bytes));
        }

        foreach (var peer in peers)
        {
            Assert.Equal(naive.PrefixesOf(peer).ToHashSet(), table.PrefixesOf(peer).ToHashSet());
        }
    }

    private static UInt128 RandomKey(Random rng, int width)
    {
        Span<byte> bytes = stackalloc byte[16];
        rng.NextBytes(bytes);
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(bytes);
        return width == 128 ? key : key & (UInt128.MaxValue << 96);
    }

    [Fact]
    public async Task Lookup_DuringConcurrentMutations_SeesWholeTables()
    {
        // Readers must always find the /8 that is never removed, whatever is being inserted and removed around it.
        var table = new AllowedIps<Peer>();
        table.Insert(P("10.0.0.0/8"), A);
        var stop = 0;
        var wrong = 0;
        var readers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            ReadOnlySpan<byte> address = [10, 9, 9, 9];
            while (Volatile.Read(ref stop) == 0)
            {
                if (table.Lookup(address) is not { } owner || (owner != A && owner != B))
                {
                    Interlocked.Increment(ref wrong);
                }
            }
        })).ToArray();

        for (var i = 0; i < 2_000; i++)
        {
            table.Insert(P($"10.{i % 256}.0.0/16"), B);
            table.Insert(P("10.9.9.0/24"), B);
            table.Remove(P("10.9.9.0/24"), B);
            table.Remove(P($"10.{i % 256}.0.0/16"), B);
        }

        Volatile.Write(ref stop, 1);
        await Task.WhenAll(readers);
        Assert.Equal(0, wrong);
    }

    /// <summary>The obvious O(n) matcher to compare against.</summary>
    private sealed class NaiveTable(int width)
    {
        public List<(UInt128 Key, int Cidr, Peer Peer)> Entries { get; } = [];

        private static UInt128 Mask(int cidr) => cidr == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - cidr);

        public void Insert(UInt128 key, int cidr, Peer peer)
        {
            key &= Mask(cidr);
            Remove(key, cidr);
            Entries.Add((key, cidr, peer));
        }

        public void Remove(UInt128 key, int cidr) => Entries.RemoveAll(e => e.Key == (key & Mask(cidr)) && e.Cidr == cidr);

        public void RemoveAll(Peer peer) => Entries.RemoveAll(e => e.Peer == peer);

        public Peer? Lookup(UInt128 address)
        {
            Peer? best = null;
            var bestCidr = -1;
            foreach (var (key, cidr, peer) in Entries)
            {
                if ((address & Mask(cidr)) == key && cidr > bestCidr)
                {
                    (best, bestCidr) = (peer, cidr);
                }
            }

            return best;
        }

        public IEnumerable<IPNetwork> PrefixesOf(Peer peer) => Entries.Where(e => e.Peer == peer).Select(e => ToNetwork(e.Key, e.Cidr, width));

        public static IPNetwork ToNetwork(UInt128 key, int cidr, int width)
        {
            var bytes = new byte[width / 8];
            WriteAddress(key & Mask(cidr), bytes, width);
            return new IPNetwork(new IPAddress(bytes), cidr);
        }

        public static void WriteAddress(UInt128 key, byte[] bytes, int width)
        {
            Span<byte> all = stackalloc byte[16];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(all, key);
            all[..(width / 8)].CopyTo(bytes);
        }
    }
}
