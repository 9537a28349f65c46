using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.Relay.Frames;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NSec.Cryptography;

namespace Meshwire.Relay.Server;

// The relay's state, RAM only: which node key is connected here (_clients), which keys meshed relays of the
// region have (_meshRoutes), and which mesh peers watch presence here (_watchers).
// A packet goes: SendPacket from a client -> local client's queue as RecvPacket, or -> ForwardPacket over the
// mesh link that has the key (one hop), or -> dropped with a PeerGone(NotHere) back to the sender.
// A ForwardPacket from a mesh peer is only ever delivered locally, so packets never loop between relays.
public sealed partial class RelayServer : IAsyncDisposable
{
    private readonly RelayServerOptions _options;
    private readonly Key _privateKey;
    private readonly ILogger _logger;
    private readonly long _started;
    private readonly ConcurrentDictionary<NodePublicKey, RelayConnection> _clients = new();
    private readonly ConcurrentDictionary<RelayConnection, byte> _watchers = new();
    private readonly ConcurrentDictionary<NodePublicKey, MeshLink> _meshRoutes = new();
    private readonly List<MeshLink> _meshLinks = [];
    private readonly ITimer _keepAliveTimer;
    private static readonly byte[] KeepAliveFrame = [(byte)FrameType.KeepAlive, 0, 0, 0, 0];

    public RelayServer(RelayServerOptions options)
    {
        _options = options;
        _privateKey = RelayKeys.ImportPrivate(options.PrivateKey.Value);
        PublicKey = RelayKeys.PublicKeyOf(options.PrivateKey);
        _logger = options.LoggerFactory?.CreateLogger<RelayServer>() ?? (ILogger)NullLogger.Instance;
        _started = options.TimeProvider.GetTimestamp();
        _keepAliveTimer = options.TimeProvider.CreateTimer(_ => SendKeepAlives(), null, options.KeepAliveInterval, options.KeepAliveInterval);
    }

    public RelayPublicKey PublicKey { get; }

    public RelayMetrics Metrics { get; } = new();

    /// <summary>Node keys connected to this relay right now (mesh peers excluded).</summary>
    public int ClientCount => _clients.Count;

    /// <summary>Node keys reachable one hop away through meshed relays.</summary>
    public int MeshRouteCount => _meshRoutes.Count;

    public bool IsConnected(NodePublicKey node) => _clients.ContainsKey(node);

    private TimeSpan Now => _options.TimeProvider.GetElapsedTime(_started);

    /// <summary>
    /// Starts links to the other relays of the region: this relay connects to each as a mesh client, watches
    /// its presence, and forwards packets for its clients. Needs <see cref="RelayServerOptions.MeshKey"/>.
    /// </summary>
    public void StartMesh(IEnumerable<Uri> peers, Func<RelayClientOptions, RelayClientOptions>? configure = null)
    {
        var meshKey = _options.MeshKey ?? throw new InvalidOperationException("Meshing needs a mesh key (--mesh-key).");
        foreach (var url in peers)
        {
            var clientOptions = new RelayClientOptions { MeshKey = meshKey, WatchPeers = true, SendQueueCapacity = _options.MeshSendQueueCapacity, TimeProvider = _options.TimeProvider, LoggerFactory = _options.LoggerFactory };
            var link = new MeshLink(this, url, new NodePrivateKey(_options.PrivateKey.Value), configure?.Invoke(clientOptions) ?? clientOptions, _logger);
            lock (_meshLinks)
            {
                _meshLinks.Add(link);
            }

            link.Start();
        }
    }

    /// <summary>Serves one upgraded connection until it ends: handshake, then frames both ways.</summary>
    public Task HandleConnectionAsync(Stream stream, CancellationToken cancellationToken) => HandleConnectionAsync(stream, null, cancellationToken);

    /// <summary>
    /// Serves one upgraded connection from <paramref name="remote"/> (the client's address; the client verifier
    /// limits its requests to control by it) until it ends.
    /// </summary>
    public async Task HandleConnectionAsync(Stream stream, System.Net.IPAddress? remote, CancellationToken cancellationToken)
    {
        var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 512, leaveOpen: true, useZeroByteReads: true));
        var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
        try
        {
            var connection = await HandshakeAsync(input, output, remote, cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                return;
            }

            await RunConnectionAsync(connection, input, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await input.CompleteAsync().ConfigureAwait(false);
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }

    private async Task<RelayConnection?> HandshakeAsync(PipeReader input, PipeWriter output, System.Net.IPAddress? remote, CancellationToken cancellationToken)
    {
        var challenge = new byte[RelayProtocol.ChallengeLength];
        RandomNumberGenerator.Fill(challenge);
        var buffer = output.GetSpan(RelayFrames.FrameLength(RelayProtocol.ServerKeyPayloadLength));
        output.Advance(RelayFrames.WriteServerKey(buffer, PublicKey, challenge));

        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        NodePublicKey client;
        RelayMeshKey? meshKey;
        try
        {
            await output.FlushAsync(linked.Token).ConfigureAwait(false);
            (var ok, client, meshKey) = await ReadClientInfoAsync(input, challenge, linked.Token).ConfigureAwait(false);
            if (!ok)
            {
                Metrics.HandshakeFailed();
                return null;
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            Metrics.HandshakeFailed();
            return null;
        }

        var isMesh = false;
        if (meshKey is { } presented)
        {
            if (_options.MeshKey is not { } expected || !CryptographicOperations.FixedTimeEquals(presented.Value.Span, expected.Value.Span))
            {
                Metrics.Refused();
                Log.Refused(_logger, client, "wrong mesh key");
                return null;
            }

            isMesh = true;
        }
        else if (_options.Verifier is { } verifier && !await verifier.IsAllowedAsync(client, remote, cancellationToken).ConfigureAwait(false))
        {
            Metrics.Refused();
            Log.Refused(_logger, client, "unknown to the coordination server");
            return null;
        }

        var bucket = isMesh ? default : new TokenBucket(_options.RateLimitBytesPerSecond, _options.RateLimitBurstBytes, Now);
        var capacity = isMesh ? _options.MeshSendQueueCapacity : _options.SendQueueCapacity;
        return new RelayConnection(client, isMesh, input, output, capacity, bucket, Metrics);
    }

    private async ValueTask<(bool Ok, NodePublicKey Client, RelayMeshKey? MeshKey)> ReadClientInfoAsync(PipeReader input, byte[] challenge, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            byte[]? scratch = null;
            try
            {
                var status = FrameReader.TryRead(buffer, ref scratch, out var type, out var payload, out var consumed);
                if (status == FrameReadStatus.Frame)
                {
                    NodePublicKey client = default;
                    RelayMeshKey? meshKey = null;
                    var ok = type == FrameType.ClientInfo && ClientProof.TryOpen(payload, _privateKey, PublicKey, challenge, out client, out meshKey);
                    input.AdvanceTo(buffer.GetPosition(consumed));
                    return ok ? (true, client, meshKey) : (false, default, null);
                }

                if (status == FrameReadStatus.Oversize || result.IsCompleted || buffer.Length > ClientProof.FrameLength)
                {
                    return (false, default, null);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
            finally
            {
                FrameReader.ReturnScratch(ref scratch);
            }
        }
    }

    private void SendKeepAlives()
    {
        foreach (var connection in _clients.Values)
        {
            connection.Enqueue(new OutboundFrame(KeepAliveFrame, KeepAliveFrame.Length, pooled: false));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _keepAliveTimer.DisposeAsync().ConfigureAwait(false);
        MeshLink[] links;
        lock (_meshLinks)
        {
            links = [.. _meshLinks];
            _meshLinks.Clear();
        }

        foreach (var link in links)
        {
            await link.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var connection in _clients.Values)
        {
            connection.Close();
        }

        foreach (var watcher in _watchers.Keys)
        {
            watcher.Close();
        }

        _privateKey.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Refused {Node}: {Why}")]
        public static partial void Refused(ILogger logger, NodePublicKey node, string why);

        [LoggerMessage(EventId = 201, Level = LogLevel.Debug, Message = "Closed {Node}: {Why}")]
        public static partial void Closed(ILogger logger, NodePublicKey node, string why);

        [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Mesh link to {Url}: {State}")]
        public static partial void MeshState(ILogger logger, Uri url, string state);
    }
}
