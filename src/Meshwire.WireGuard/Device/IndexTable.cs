using System.Collections.Concurrent;
using System.Security.Cryptography;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// Receiver indices (whitepaper 5.4.2 "sender index") handed to peers. Each names a pending handshake or a
/// keypair of one peer. Indices are random 32-bit values, unique among live entries; lookups are lock-free.
/// </summary>
internal sealed class IndexTable
{
    private readonly ConcurrentDictionary<uint, IndexEntry> _entries = new();

    public int Count => _entries.Count;

    /// <summary>Reserves a fresh index for a handshake of <paramref name="peer"/>.</summary>
    public uint Allocate(Peer peer)
    {
        Span<byte> random = stackalloc byte[4];
        while (true)
        {
            RandomNumberGenerator.Fill(random);
            var index = BitConverter.ToUInt32(random);
            if (index != 0 && _entries.TryAdd(index, new IndexEntry(peer, null)))
            {
                return index;
            }
        }
    }

    /// <summary>Binds an allocated index to the keypair its handshake produced.</summary>
    public void Bind(uint index, Peer peer, Keypair keypair) => _entries[index] = new IndexEntry(peer, keypair);

    public bool TryLookup(uint index, out IndexEntry entry) => _entries.TryGetValue(index, out entry!);

    public void Free(uint index)
    {
        if (index != 0)
        {
            _entries.TryRemove(index, out _);
        }
    }
}

/// <summary>What a receiver index names: a peer, and its keypair once the handshake completed.</summary>
internal sealed record IndexEntry(Peer Peer, Keypair? Keypair);
