using Meshwire.Protocol;

namespace Meshwire.Control.Client;

/// <summary>
/// A node's current map, built from a stream: <see cref="Apply"/> takes a full map or a delta and returns the
/// new immutable view (the agent swaps it in atomically). Deltas must arrive in order: a gap in Seq throws.
/// </summary>
public sealed record NetmapView(
    long Seq,
    WireNode Self,
    IReadOnlyDictionary<string, WireNode> Peers,
    IReadOnlyList<WireFilterRule> PacketFilter,
    RelayMap RelayMap,
    DnsConfig Dns)
{
    public static NetmapView From(MapFull full) =>
        new(full.Seq, full.Self, full.Peers.ToDictionary(p => p.Id), full.PacketFilter, full.RelayMap, full.Dns);

    public NetmapView Apply(ControlMessage message)
    {
        switch (message)
        {
            case MapFull full:
                return From(full);
            case KeepAlive keepAlive:
                CheckSeq(keepAlive.Seq);
                return this with { Seq = keepAlive.Seq };
            case MapDelta delta:
                CheckSeq(delta.Seq);
                var peers = new Dictionary<string, WireNode>(Peers);
                foreach (var id in delta.PeersRemoved ?? [])
                {
                    peers.Remove(id);
                }

                foreach (var peer in delta.PeersChanged ?? [])
                {
                    peers[peer.Id] = peer;
                }

                return new NetmapView(delta.Seq, delta.Self ?? Self, peers, delta.PacketFilter ?? PacketFilter, delta.RelayMap ?? RelayMap, delta.Dns ?? Dns);
            default:
                return this;
        }
    }

    private void CheckSeq(long seq)
    {
        if (seq != Seq + 1)
        {
            throw new InvalidOperationException($"map message {seq} after {Seq}: the stream lost a message");
        }
    }
}
