using System.IO.Pipelines;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay;

// Receiving: one caller pulls events. Packets are copied into the caller's buffer (no allocation);
// Pong and KeepAlive are handled here and never surface. A broken connection surfaces once as
// Disconnected; the next call reconnects, waiting the backoff between failed attempts.
public sealed partial class RelayClient
{
    /// <summary>Waits for the next event from the relay, connecting or reconnecting as needed.</summary>
    public async ValueTask<RelayMessage> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
            var session = _session;
            if (session is null)
            {
                try
                {
                    await ConnectCoreAsync(cancellationToken).ConfigureAwait(false);
                    return new RelayMessage(RelayMessageKind.Connected);
                }
                catch (RelayConnectException e)
                {
                    var delay = _backoff.Next(Random.Shared.NextDouble());
                    Log.Retry(_logger, Url, delay, e.Message);
                    await Task.Delay(delay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }

            if (_announceConnected)
            {
                _announceConnected = false;
                return new RelayMessage(RelayMessageKind.Connected);
            }

            ReadResult result;
            try
            {
                result = await session.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                return await DropSessionAsync(session, e.Message).ConfigureAwait(false);
            }

            if (result.IsCanceled || !session.IsAlive)
            {
                cancellationToken.ThrowIfCancellationRequested();
                return await DropSessionAsync(session, "connection closed").ConfigureAwait(false);
            }

            var message = ParseBuffered(session.Input, result, buffer.Span, out var broken);
            if (message is { } m)
            {
                return m;
            }

            if (broken || result.IsCompleted)
            {
                return await DropSessionAsync(session, broken ? "malformed frame from relay" : "relay closed the connection").ConfigureAwait(false);
            }
        }
    }

    // Consumes frames until one is worth returning; always advances the reader exactly once.
    private RelayMessage? ParseBuffered(PipeReader input, ReadResult result, Span<byte> destination, out bool broken)
    {
        broken = false;
        var buffer = result.Buffer;
        while (true)
        {
            byte[]? scratch = null;
            try
            {
                var status = FrameReader.TryRead(buffer, ref scratch, out var type, out var payload, out var consumed);
                if (status == FrameReadStatus.NeedMoreData)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    return null;
                }

                if (status == FrameReadStatus.Oversize)
                {
                    broken = true;
                    input.AdvanceTo(buffer.Start, buffer.End);
                    return null;
                }

                buffer = buffer.Slice(consumed);
                RelayMessage? message = null;
                switch (type)
                {
                    case FrameType.RecvPacket when RelayFrames.TryParseKeyAndPacket(payload, out var from, out var packet):
                        if (packet.Length <= destination.Length)
                        {
                            packet.CopyTo(destination);
                            message = new RelayMessage(RelayMessageKind.Packet, from, packet.Length);
                        }
                        else
                        {
                            Interlocked.Increment(ref _droppedTooLarge);
                        }

                        break;
                    case FrameType.PeerGone when RelayFrames.TryParsePeerGone(payload, out var gone, out var reason):
                        message = new RelayMessage(RelayMessageKind.PeerGone, gone, 0, reason);
                        break;
                    case FrameType.PeerPresent when RelayFrames.TryParsePeerPresent(payload, out var present):
                        message = new RelayMessage(RelayMessageKind.PeerPresent, present);
                        break;
                    case FrameType.Pong when RelayFrames.TryParsePing(payload, out var data):
                        if (_pings.TryGetValue(data, out var ping))
                        {
                            ping.Done.TrySetResult(_options.TimeProvider.GetElapsedTime(ping.Started));
                        }

                        break;
                }

                if (message is not null)
                {
                    input.AdvanceTo(buffer.Start);
                    return message;
                }
            }
            finally
            {
                FrameReader.ReturnScratch(ref scratch);
            }
        }
    }

    private async ValueTask<RelayMessage> DropSessionAsync(RelaySession session, string why)
    {
        if (Interlocked.CompareExchange(ref _session, null, session) == session)
        {
            Log.Lost(_logger, Url, why);
            await session.DisposeAsync().ConfigureAwait(false);
        }

        return new RelayMessage(RelayMessageKind.Disconnected);
    }
}
