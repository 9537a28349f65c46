using System.Collections.Concurrent;
using System.Threading.Channels;
using Meshwire.Core;
using Meshwire.Relay.Client;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Server;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Relay;

/// <summary>
/// A node's connection to one relay. Sends are queued (bounded) and written by a background loop;
/// receives are pulled by one caller with <see cref="ReceiveAsync"/>, which also reconnects with backoff
/// after the connection drops. Thread safety: send from any thread; receive from one at a time.
/// </summary>
public sealed partial class RelayClient : IAsyncDisposable
{
    private readonly RelayClientOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<OutboundFrame> _sendQueue;
    private readonly ConcurrentDictionary<ulong, (long Started, TaskCompletionSource<TimeSpan> Done)> _pings = new();
    private readonly CancellationTokenSource _disposed = new();
    private ReconnectBackoff _backoff;
    private RelaySession? _session;
    private bool _announceConnected;
    private long _droppedTooLarge;

    public RelayClient(Uri relayUrl, NodePrivateKey nodeKey, RelayClientOptions? options = null)
    {
        if (relayUrl.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("A relay URL is http:// or https://.", nameof(relayUrl));
        }

        Url = relayUrl;
        NodeKey = nodeKey;
        PublicKey = RelayKeys.PublicKeyOf(nodeKey);
        _options = options ?? new RelayClientOptions();
        _logger = _options.LoggerFactory?.CreateLogger<RelayClient>() ?? (ILogger)NullLogger.Instance;
        _backoff = new ReconnectBackoff(_options.MinReconnectDelay, _options.MaxReconnectDelay);
        _sendQueue = Channel.CreateBounded<OutboundFrame>(new BoundedChannelOptions(_options.SendQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    public Uri Url { get; }

    public NodePublicKey PublicKey { get; }

    internal NodePrivateKey NodeKey { get; }

    /// <summary>The relay's key as of the last handshake; null before the first.</summary>
    public RelayPublicKey? ServerKey { get; private set; }

    public bool IsConnected => _session is { IsAlive: true };

    /// <summary>Number of successful handshakes so far (1 after the first connect, +1 per reconnect).</summary>
    public int Connections { get; private set; }

    /// <summary>Received packets dropped because the caller's buffer was smaller than the packet.</summary>
    public long DroppedTooLarge => Interlocked.Read(ref _droppedTooLarge);

    /// <summary>Connects once; throws <see cref="RelayConnectException"/> on failure. Optional: ReceiveAsync connects too.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        if (_session is { IsAlive: true })
        {
            return;
        }

        await ConnectCoreAsync(cancellationToken).ConfigureAwait(false);
        _announceConnected = true;
    }

    /// <summary>Queues a packet for <paramref name="to"/>. False (dropped) when not connected or the queue is full.</summary>
    public bool TrySend(NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        if (packet.Length > RelayProtocol.MaxPacketSize || !IsConnected)
        {
            return false;
        }

        var frame = OutboundFrame.Rent(RelayFrames.SendPacketLength(packet.Length));
        RelayFrames.WriteSendPacket(frame.Writable, to, packet);
        return TryQueue(frame);
    }

    /// <summary>Queues a packet, waiting for room in the queue. False when not connected.</summary>
    public async ValueTask<bool> SendAsync(NodePublicKey to, ReadOnlyMemory<byte> packet, CancellationToken cancellationToken = default)
    {
        if (packet.Length > RelayProtocol.MaxPacketSize || !IsConnected)
        {
            return false;
        }

        var frame = OutboundFrame.Rent(RelayFrames.SendPacketLength(packet.Length));
        RelayFrames.WriteSendPacket(frame.Writable, to, packet.Span);
        try
        {
            await _sendQueue.Writer.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch
        {
            frame.Release();
            throw;
        }
    }

    /// <summary>Tells the relay whether it is this node's home relay (the one its peers reach it through).</summary>
    public bool NotePreferred(bool preferred)
    {
        var frame = OutboundFrame.Rent(RelayFrames.FrameLength(1));
        RelayFrames.WriteNotePreferred(frame.Writable, preferred);
        return TryQueue(frame);
    }

    /// <summary>
    /// Round trip of a Ping through the open connection, for choosing a home relay. Completes only while
    /// someone is calling <see cref="ReceiveAsync"/> (the Pong arrives there).
    /// </summary>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        var data = (ulong)Random.Shared.NextInt64();
        var done = new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[data] = (_options.TimeProvider.GetTimestamp(), done);
        try
        {
            var frame = OutboundFrame.Rent(RelayFrames.PingFrameLength);
            RelayFrames.WritePing(frame.Writable, FrameType.Ping, data);
            if (!IsConnected || !TryQueue(frame))
            {
                throw new RelayConnectException("Not connected to the relay.");
            }

            return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pings.TryRemove(data, out _);
        }
    }

    /// <summary>Mesh only: asks the relay to deliver a packet from <paramref name="from"/> to its local client <paramref name="to"/>.</summary>
    internal bool TryForward(NodePublicKey from, NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        if (!IsConnected)
        {
            return false;
        }

        var frame = OutboundFrame.Rent(RelayFrames.ForwardPacketLength(packet.Length));
        RelayFrames.WriteForwardPacket(frame.Writable, from, to, packet);
        return TryQueue(frame);
    }

    private bool TryQueue(OutboundFrame frame)
    {
        if (_sendQueue.Writer.TryWrite(frame))
        {
            return true;
        }

        frame.Release();
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        var session = _session;
        _session = null;
        if (session is not null)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        _sendQueue.Writer.TryComplete();
        while (_sendQueue.Reader.TryRead(out var frame))
        {
            frame.Release();
        }

        _disposed.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Connected to relay {Url} ({ServerKey})")]
        public static partial void Connected(ILogger logger, Uri url, RelayPublicKey serverKey);

        [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Lost relay {Url}: {Why}")]
        public static partial void Lost(ILogger logger, Uri url, string why);

        [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Relay {Url} unreachable, retrying in {Delay}: {Why}")]
        public static partial void Retry(ILogger logger, Uri url, TimeSpan delay, string why);
    }
}

/// <summary>Connecting to a relay failed: unreachable, not a relay, or the key proof was refused.</summary>
public sealed class RelayConnectException(string message, Exception? inner = null) : Exception(message, inner);
