using System.Buffers;
using System.Buffers.Binary;
using System.Net.WebSockets;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;
using MessageType = Meshwire.WireGuard.Noise.MessageType;

namespace Meshwire.Control.Channel;

/// <summary>
/// Sealed frames over a WebSocket, both directions: each binary WebSocket message is one WireGuard transport
/// message (whitepaper 5.4.6) sealed with the channel's <see cref="ChannelCipher"/>, whose plaintext is a 4-byte
/// little-endian length and that many bytes of UTF-8 JSON (one <see cref="ControlMessage"/>). The replay window
/// rejects reordered or repeated frames. Sends are serialized by a lock; one reader at a time.
/// Rekey in place (docs/protocol.md "Channel"): a handshake message (type 1 or 2) on the channel is handed to the
/// caller, which runs the handshake and calls <see cref="InstallAsync"/>. Sending switches to the new keys at once;
/// the previous keys still open frames (chosen by receiver index) until the first frame under the new keys opens.
/// Keys are installed only by the reader (the server answers initiations in its read loop, the node reads the
/// response in its), so the reader owns <c>_previous</c>; <c>_current</c> is swapped under the send lock.
/// </summary>
internal sealed class SecureFrames : IDisposable
{
    private readonly WebSocket _socket;
    private readonly TimeProvider _time;
    private readonly int _maxReceive;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private ChannelCipher _current;
    private long _currentStart;
    private ChannelCipher? _previous;
    private long _previousStart;
    private byte[] _receiveBuffer = new byte[4096];

    public SecureFrames(WebSocket socket, in SessionKeys keys, TimeProvider time, int maxReceive)
    {
        _socket = socket;
        _time = time;
        _currentStart = time.GetTimestamp();
        _current = new ChannelCipher(keys);
        _maxReceive = maxReceive;
    }

    public WebSocket Socket => _socket;

    /// <summary>Monotonic time since the current keypair was made: the keypair's clock.</summary>
    public TimeSpan Age => _time.GetElapsedTime(Volatile.Read(ref _currentStart));

    /// <summary>Our receiver index under the current keys (a new handshake must pick another).</summary>
    public uint LocalIndex => Volatile.Read(ref _current).LocalIndex;

    /// <summary>How many times the keys were replaced on this channel.</summary>
    public int Generation { get; private set; }

    /// <summary>Sends a handshake message (initiation or response) as is, between sealed frames.</summary>
    public async Task SendHandshakeAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(message, WebSocketMessageType.Binary, true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>
    /// Switches sending to <paramref name="keys"/>; the current keys become the previous (receive only). When
    /// <paramref name="response"/> is given (the server), it is sent first under the same lock, so every frame
    /// after it is sealed with the new keys. Call only from the reader.
    /// </summary>
    public async Task InstallAsync(SessionKeys keys, ReadOnlyMemory<byte> response, CancellationToken cancellationToken)
    {
        var next = new ChannelCipher(keys);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            if (!response.IsEmpty)
            {
                await _socket.SendAsync(response, WebSocketMessageType.Binary, true, cancellationToken);
            }

            _previous?.Dispose();
            _previous = _current;
            _previousStart = _currentStart;
            Volatile.Write(ref _current, next);
            Volatile.Write(ref _currentStart, _time.GetTimestamp());
            Generation++;
        }
        catch
        {
            next.Dispose();
            throw;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public Task SendAsync(ControlMessage message, CancellationToken cancellationToken) =>
        SendJsonAsync(ProtocolJson.Serialize(message), cancellationToken);

    /// <summary>Seals one frame of UTF-8 JSON as is (tests send malformed messages through it).</summary>
    internal async Task SendJsonAsync(ReadOnlyMemory<byte> json, CancellationToken cancellationToken)
    {
        var plaintext = ChannelConstants.LengthPrefix + json.Length;
        var length = TransportMessage.DatagramLength(plaintext);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                var keypair = _current;
                if (!keypair.TryReserveSendCounter(out var counter))
                {
                    throw new WebSocketException("the channel's send counter is exhausted");
                }

                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(TransportMessage.HeaderLength), json.Length);
                json.Span.CopyTo(buffer.AsSpan(TransportMessage.HeaderLength + ChannelConstants.LengthPrefix));
                var sealedLength = keypair.Seal(counter, buffer.AsSpan(0, length), plaintext);
                await _socket.SendAsync(buffer.AsMemory(0, sealedLength), WebSocketMessageType.Binary, true, cancellationToken);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads one frame. Returns the message, or null with <c>Error</c> (an ErrorCodes value) when the frame is too
    /// large, forged, replayed or not a valid message; a handshake message (type 1 or 2) is returned in
    /// <c>Handshake</c> (valid until the next read); all null and empty when the peer closed.
    /// </summary>
    public async Task<ReceivedFrame> ReceiveAsync(CancellationToken cancellationToken)
    {
        var (length, closed, tooLarge) = await ReceiveRawAsync(cancellationToken);
        if (closed)
        {
            return default;
        }

        if (tooLarge)
        {
            return ReceivedFrame.Failed(ErrorCodes.TooLarge, $"a message may be at most {_maxReceive} bytes");
        }

        var datagram = _receiveBuffer.AsSpan(0, length);
        if (length > 0 && datagram[0] is MessageType.Initiation or MessageType.Response)
        {
            return new ReceivedFrame(null, null, null, _receiveBuffer.AsMemory(0, length));
        }

        if (length < TransportMessage.MinimumLength || datagram[0] != TransportMessage.MessageType)
        {
            return ReceivedFrame.Failed(ErrorCodes.BadRequest, "not a transport message of this channel");
        }

        // The receiver index names the keypair: the current one, or the previous one until the peer has switched.
        var receiver = TransportMessage.ReadReceiver(datagram);
        OpenStatus status;
        int plaintextLength;
        if (receiver == _current.LocalIndex)
        {
            status = _current.Open(datagram, Age, out plaintextLength);
            if (status == OpenStatus.Ok && _previous is not null)
            {
                _previous.Dispose();
                _previous = null;
            }
        }
        else if (_previous is not null && receiver == _previous.LocalIndex)
        {
            status = _previous.Open(datagram, _time.GetElapsedTime(_previousStart), out plaintextLength);
        }
        else
        {
            return ReceivedFrame.Failed(ErrorCodes.BadRequest, "not a transport message of this channel");
        }

        if (status != OpenStatus.Ok)
        {
            return ReceivedFrame.Failed(ErrorCodes.Unauthorized, $"frame rejected: {status}");
        }

        var plaintext = datagram.Slice(TransportMessage.HeaderLength, plaintextLength);
        if (plaintext.Length < ChannelConstants.LengthPrefix)
        {
            return ReceivedFrame.Failed(ErrorCodes.BadRequest, "frame without a length");
        }

        var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(plaintext);
        if (jsonLength < 0 || jsonLength > plaintext.Length - ChannelConstants.LengthPrefix)
        {
            return ReceivedFrame.Failed(ErrorCodes.BadRequest, "frame length out of range");
        }

        if (!ProtocolJson.TryDeserialize(plaintext.Slice(ChannelConstants.LengthPrefix, jsonLength), out var message, out var error))
        {
            return ReceivedFrame.Failed(ErrorCodes.BadRequest, $"malformed message: {error}");
        }

        return new ReceivedFrame(message, null, null, default);
    }

    /// <summary>Reads one whole WebSocket message into the receive buffer (grown up to the limit).</summary>
    public async Task<(int Length, bool Closed, bool TooLarge)> ReceiveRawAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            if (total == _receiveBuffer.Length)
            {
                if (_receiveBuffer.Length >= _maxReceive + 64)
                {
                    return (total, false, true);
                }

                Array.Resize(ref _receiveBuffer, Math.Min(_receiveBuffer.Length * 2, _maxReceive + 64));
            }

            var result = await _socket.ReceiveAsync(_receiveBuffer.AsMemory(total), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (0, true, false);
            }

            total += result.Count;
            if (result.EndOfMessage)
            {
                return (total, false, false);
            }
        }
    }

    public void Dispose()
    {
        _current.Dispose();
        _previous?.Dispose();
        _sendLock.Dispose();
    }
}

/// <summary>One read of <see cref="SecureFrames"/>: a message, an error, a handshake message, or (all empty) the close.</summary>
internal readonly record struct ReceivedFrame(ControlMessage? Message, string? Error, string? Detail, ReadOnlyMemory<byte> Handshake)
{
    public bool IsClosed => Message is null && Error is null && Handshake.IsEmpty;

    public static ReceivedFrame Failed(string error, string detail) => new(null, error, detail, default);
}
