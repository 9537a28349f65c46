using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay;

// Dialing: TCP (+ TLS for https) -> "GET /relay" with Upgrade: meshwire-relay -> 101 -> ServerKey ->
// ClientInfo (key proof) [-> WatchConns for mesh peers] -> ServerInfo. Then a write loop drains the send queue.
public sealed partial class RelayClient
{
    private const int MaxResponseHead = 16 * 1024;

    private async Task ConnectCoreAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.ConnectTimeout, _options.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token, _disposed.Token);
        var token = linked.Token;
        Stream? stream = null;
        try
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(Url.IdnHost, Url.Port, token).ConfigureAwait(false);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            stream = new NetworkStream(socket, ownsSocket: true);
            if (Url.Scheme == "https")
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = Url.IdnHost,
                    RemoteCertificateValidationCallback = _options.CertificateValidation,
                }, token).ConfigureAwait(false);
            }

            var input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, leaveOpen: true));
            var output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));

            var path = Url.AbsolutePath is "" or "/" ? RelayProtocol.Path : Url.AbsolutePath;
            output.Write(Encoding.ASCII.GetBytes(
                $"GET {path} HTTP/1.1\r\nHost: {Url.Authority}\r\nConnection: Upgrade\r\nUpgrade: {RelayProtocol.UpgradeToken}\r\nUser-Agent: meshwire\r\n\r\n"));
            await output.FlushAsync(token).ConfigureAwait(false);
            await ReadUpgradeResponseAsync(input, token).ConfigureAwait(false);

            var (type, payload) = await ReadFrameAsync(input, token).ConfigureAwait(false);
            if (type != FrameType.ServerKey || !TryWriteProof(output, payload, out var serverKey))
            {
                throw new RelayConnectException($"{Url} did not send a relay server key.");
            }

            await output.FlushAsync(token).ConfigureAwait(false);

            (type, payload) = await ReadFrameAsync(input, token).ConfigureAwait(false);
            if (type != FrameType.ServerInfo || !RelayFrames.TryParseServerInfo(payload, out _, out _, out _))
            {
                throw new RelayConnectException($"{Url} refused the key proof.");
            }

            ServerKey = serverKey;
            var session = new RelaySession(stream, input, output);
            session.WriteLoop = RunWriteLoopAsync(session);
            _session = session;
            Connections++;
            _backoff.Reset();
            Log.Connected(_logger, Url, serverKey);
        }
        catch (Exception e) when (e is not RelayConnectException && !(e is OperationCanceledException && (cancellationToken.IsCancellationRequested || _disposed.IsCancellationRequested)))
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            throw new RelayConnectException($"Could not connect to relay {Url}: {e.Message}", e);
        }
        catch
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private bool TryWriteProof(PipeWriter output, byte[] serverKeyPayload, out RelayPublicKey serverKey)
    {
        if (!RelayFrames.TryParseServerKey(serverKeyPayload, out serverKey, out var challenge))
        {
            return false;
        }

        var span = output.GetSpan(ClientProof.FrameLength + RelayProtocol.FrameHeaderLength);
        var written = ClientProof.WriteClientInfo(span, NodeKey, serverKey, challenge, _options.MeshKey);
        if (_options.WatchPeers)
        {
            written += RelayFrames.WriteEmpty(span[written..], FrameType.WatchConns);
        }

        output.Advance(written);
        return true;
    }

    private async Task ReadUpgradeResponseAsync(PipeReader input, CancellationToken token)
    {
        while (true)
        {
            var result = await input.ReadAsync(token).ConfigureAwait(false);
            var reader = new SequenceReader<byte>(result.Buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> head, "\r\n\r\n"u8))
            {
                var text = Encoding.ASCII.GetString(head);
                input.AdvanceTo(reader.Position);
                if (!text.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
                {
                    var firstLine = text.Split("\r\n")[0];
                    throw new RelayConnectException($"{Url} answered '{firstLine}' instead of switching to the relay protocol.");
                }

                return;
            }

            if (result.IsCompleted || result.Buffer.Length > MaxResponseHead)
            {
                throw new RelayConnectException($"{Url} closed the connection during the HTTP upgrade.");
            }

            input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    // Handshake frames only: copies the payload, which is fine for three small frames per connection.
    private static async Task<(FrameType Type, byte[] Payload)> ReadFrameAsync(PipeReader input, CancellationToken token)
    {
        while (true)
        {
            var result = await input.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            byte[]? scratch = null;
            var status = FrameReader.TryRead(buffer, ref scratch, out var type, out var payload, out var consumed);
            var copy = status == FrameReadStatus.Frame ? payload.ToArray() : null;
            FrameReader.ReturnScratch(ref scratch);
            if (copy is not null)
            {
                input.AdvanceTo(buffer.GetPosition(consumed));
                return (type, copy);
            }

            if (status == FrameReadStatus.Oversize || result.IsCompleted)
            {
                throw new RelayConnectException("The relay closed the connection during the handshake.");
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async Task RunWriteLoopAsync(RelaySession session)
    {
        var reader = _sendQueue.Reader;
        var token = session.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame))
                {
                    session.Output.Write(frame.Span);
                    frame.Release();
                }

                var flush = await session.Output.FlushAsync(token).ConfigureAwait(false);
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
        }
        finally
        {
            session.MarkDead();
        }
    }
}

/// <summary>One TCP connection's worth of client state; replaced on reconnect.</summary>
internal sealed class RelaySession(Stream stream, PipeReader input, PipeWriter output) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private int _dead;

    public PipeReader Input => input;

    public PipeWriter Output => output;

    public Task WriteLoop { get; set; } = Task.CompletedTask;

    public CancellationToken Token => _stop.Token;

    public bool IsAlive => Volatile.Read(ref _dead) == 0;

    /// <summary>Called by either loop when the connection fails; wakes the other one.</summary>
    public void MarkDead()
    {
        if (Interlocked.Exchange(ref _dead, 1) == 0)
        {
            input.CancelPendingRead();
            try
            {
                _stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        MarkDead();
        await stream.DisposeAsync().ConfigureAwait(false);
        await WriteLoop.ConfigureAwait(false);
        await input.CompleteAsync().ConfigureAwait(false);
        await output.CompleteAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
