using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Meshwire.Core;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay.Server;

// One admitted client. The read loop (RelayServer.RunConnectionAsync) parses frames and routes packets into
// other connections' queues; this connection's write loop drains its own queue into the socket. The queue is
// bounded and drops new frames when full, so a client that does not read never blocks anyone else's reader.
// Memory while idle: this object, a small channel, and the two parked loops; no buffer is held.
internal sealed class RelayConnection
{
    private readonly Channel<OutboundFrame> _queue;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private TokenBucket _bucket;

    public RelayConnection(NodePublicKey key, bool isMesh, PipeReader input, PipeWriter output, int capacity, TokenBucket bucket, RelayMetrics metrics)
    {
        Key = key;
        IsMesh = isMesh;
        _input = input;
        _output = output;
        _bucket = bucket;
        _queue = Channel.CreateBounded<OutboundFrame>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            frame =>
            {
                frame.Release();
                metrics.Drop(RelayDropReason.QueueFull);
            });
    }

    public NodePublicKey Key { get; }

    public bool IsMesh { get; }

    /// <summary>Set by NotePreferred: this relay is the client's home. Informational (metrics, future eviction).</summary>
    public bool Preferred { get; set; }

    /// <summary>Rate check for bytes this client sends; only the read loop calls it.</summary>
    public bool TryTakeTokens(int bytes, TimeSpan now) => _bucket.TryTake(bytes, now);

    /// <summary>Queues a frame; false when the queue is full (dropped and counted) or the connection is closing.</summary>
    public bool Enqueue(OutboundFrame frame)
    {
        if (!_queue.Writer.TryWrite(frame))
        {
            frame.Release();
            return false;
        }

        return true;
    }

    public bool EnqueueRecvPacket(NodePublicKey from, ReadOnlySpan<byte> packet)
    {
        var frame = OutboundFrame.Rent(RelayFrames.SendPacketLength(packet.Length));
        RelayFrames.WriteRecvPacket(frame.Writable, from, packet);
        return Enqueue(frame);
    }

    public void EnqueuePeerGone(NodePublicKey peer, PeerGoneReason reason)
    {
        var frame = OutboundFrame.Rent(RelayFrames.PeerGoneFrameLength);
        RelayFrames.WritePeerGone(frame.Writable, peer, reason);
        Enqueue(frame);
    }

    public void EnqueuePeerPresent(NodePublicKey peer)
    {
        var frame = OutboundFrame.Rent(RelayFrames.PeerPresentFrameLength);
        RelayFrames.WritePeerPresent(frame.Writable, peer);
        Enqueue(frame);
    }

    public void EnqueuePong(ulong data)
    {
        var frame = OutboundFrame.Rent(RelayFrames.PingFrameLength);
        RelayFrames.WritePing(frame.Writable, FrameType.Pong, data);
        Enqueue(frame);
    }

    /// <summary>Ends both loops: the writer stops after its queue, the reader's pending read returns cancelled.</summary>
    public void Close()
    {
        _queue.Writer.TryComplete();
        _input.CancelPendingRead();
    }

    public async Task RunWriteLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    _output.Write(frame.Span);
                    frame.Release();
                }

                var flush = await _output.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The peer went away mid-write; the read loop sees the same and unregisters.
        }
        finally
        {
            _queue.Writer.TryComplete();
            while (reader.TryRead(out var frame))
            {
                frame.Release();
            }

            _input.CancelPendingRead();
        }
    }
}
