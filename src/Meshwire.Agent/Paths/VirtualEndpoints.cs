using System.Collections.Frozen;
using Meshwire.Core;

namespace Meshwire.Agent.Paths;

/// <summary>
/// One stable, never-routed endpoint per peer, given to the WireGuard device as the peer's endpoint so that every
/// datagram to the peer passes the path layer, which sends it direct or through a relay. The addresses are in
/// fd7a:115c:a1e0:ffff::/64 (inside Meshwire's own ULA, never assigned to a node) with the peer's index, port 9.
/// Immutable; the router swaps a new instance in for each netmap. Indices of peers that stay are kept.
/// </summary>
internal sealed class VirtualEndpoints
{
    private const ushort Port = 9;

    private readonly FrozenDictionary<NodePublicKey, EndpointAddress> _byKey;
    private readonly FrozenDictionary<EndpointAddress, NodePublicKey> _byEndpoint;
    private readonly uint _next;

    private VirtualEndpoints(Dictionary<NodePublicKey, EndpointAddress> byKey, uint next)
    {
        _byKey = byKey.ToFrozenDictionary();
        _byEndpoint = byKey.ToFrozenDictionary(kv => kv.Value, kv => kv.Key);
        _next = next;
    }

    public static VirtualEndpoints Empty { get; } = new([], 1);

    public int Count => _byKey.Count;

    public bool TryGetPeer(EndpointAddress endpoint, out NodePublicKey peer) => _byEndpoint.TryGetValue(endpoint, out peer);

    public bool TryGetEndpoint(NodePublicKey peer, out EndpointAddress endpoint) => _byKey.TryGetValue(peer, out endpoint);

    /// <summary>The set for <paramref name="peers"/>: known peers keep their endpoint, new ones get fresh indices.</summary>
    public VirtualEndpoints With(IEnumerable<NodePublicKey> peers)
    {
        var next = _next;
        var map = new Dictionary<NodePublicKey, EndpointAddress>();
        foreach (var peer in peers)
        {
            map[peer] = _byKey.TryGetValue(peer, out var kept) ? kept : Make(next++);
        }

        return new VirtualEndpoints(map, next);
    }

    private static EndpointAddress Make(uint index)
    {
        Span<byte> address = [0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(address[12..], index);
        return EndpointAddress.FromBytes(address, Port);
    }
}
