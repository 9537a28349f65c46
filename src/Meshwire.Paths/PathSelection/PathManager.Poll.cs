using Meshwire.Core;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.PathSelection;

// Outgoing discovery datagrams. Decisions (timers, received messages) queue small Outbound entries; TryPoll seals
// one per call into the caller's buffer. Pings get their transaction id and send time when sealed, so a queued ping
// that is never polled leaves no outstanding ping behind, and latency counts from the moment the driver sends.
public sealed partial class PathManager
{
    private readonly Queue<Outbound> _outbox = new();

    /// <summary>Datagrams dropped because <see cref="PathConstants.MaxQueuedTransmits"/> were already waiting.</summary>
    public long TransmitsDropped { get; private set; }

    /// <summary>
    /// Writes the next discovery datagram into <paramref name="buffer"/> (at least <see cref="MaxDatagramLength"/>
    /// bytes) and says where it goes. Call until it returns false, after every <see cref="HandleDisco"/>,
    /// <see cref="Route"/> that started discovery, and at <see cref="NextDeadline"/>. Does bounded work per call.
    /// </summary>
    public bool TryPoll(TimeSpan now, long unixMs, Span<byte> buffer, out Transmit transmit)
    {
        if (buffer.Length < MaxDatagramLength)
        {
            throw new ArgumentException($"The buffer must hold {MaxDatagramLength} bytes.", nameof(buffer));
        }

        if (_outbox.Count == 0)
        {
            WakeDuePeers(now);
        }

        while (_outbox.TryDequeue(out var item))
        {
            var state = item.Peer;
            if (state.Removed || state.Box is null)
            {
                continue;
            }

            DiscoMessage message;
            switch (item.Type)
            {
                case DiscoMessageType.Ping:
                    var tx = DiscoTxId.NewRandom();
                    state.AddPending(tx, item.To, now);
                    message = DiscoMessage.Ping(tx, NodeKey, unixMs);
                    break;
                case DiscoMessageType.Pong:
                    message = DiscoMessage.Pong(item.Tx, item.Observed, unixMs);
                    break;
                default:
                    message = DiscoMessage.CallMeMaybe(_localEndpoints, unixMs);
                    break;
            }

            DiscoWire.TryWrite(message, state.Box, buffer, out var written);
            transmit = new Transmit(state.NodeKey, item.ViaRelay, item.ViaRelay ? default : item.To, item.ViaRelay ? RelayDecision(state).RelayRegion : 0, item.Type, written);
            return true;
        }

        transmit = default;
        return false;
    }

    private void QueuePing(PeerPaths state, Candidate candidate, TimeSpan now)
    {
        if (!candidate.CanPing(now))
        {
            return;
        }

        candidate.LastPingSent = now;
        Enqueue(new Outbound(state, DiscoMessageType.Ping, ViaRelay: false, candidate.Address));
    }

    private void Enqueue(in Outbound item)
    {
        if (_outbox.Count >= PathConstants.MaxQueuedTransmits)
        {
            TransmitsDropped++;
            return;
        }

        _outbox.Enqueue(item);
    }

    /// <summary>A discovery datagram decided but not yet sealed. <see cref="Tx"/> and <see cref="Observed"/> are for pongs.</summary>
    private readonly record struct Outbound(PeerPaths Peer, DiscoMessageType Type, bool ViaRelay, EndpointAddress To, DiscoTxId Tx = default, EndpointAddress Observed = default);
}
