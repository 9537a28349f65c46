using System.Buffers;
using System.Buffers.Binary;
using System.Net.WebSockets;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.Control.Channel;

/// <summary>
/// Sealed frames over a WebSocket, both directions: each binary WebSocket message is one WireGuard transport
/// message (whitepaper 5.4.6) sealed with the channel's <see cref="ChannelCipher"/>, whose plaintext is a 4-byte
/// little-endian length and that many bytes of UTF-8 JSON (one <see cref="ControlMessage"/>). The replay window
/// rejects reordered or repeated frames. Sends are serialized by a lock; one reader at a time.
/// </summary>
internal sealed class SecureFrames : IDisposable
{
    private readonly WebSocket _socket;
    private readonly ChannelCipher _keypair;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly int _maxReceive;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _receiveBuffer = new byte[4096];

    public SecureFrames(WebSocket socket, in SessionKeys keys, TimeProvider time, int maxReceive)
    {
        _socket = socket;
        _time = time;
        _start = time.GetTimestamp();
        _keypair = new ChannelCipher(keys);
        _maxReceive = maxReceive;
    }

    public WebSocket Socket => _socket;

    /// <summary>Monotonic time since the keypair was made: the keypair's clock.</summary>
    public TimeSpan Age => _time.GetElapsedTime(_start);

    public async Task SendAsync(ControlMessage message, CancellationToken cancellationToken)
    {
        var json = ProtocolJson.Serialize(message);
        var plaintext = ChannelConstants.LengthPrefix + json.Length;
        var length = TransportMessage.DatagramLength(plaintext);
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                if (!_keypair.TryReserveSendCounter(out var counter))
                {
                    throw new WebSocketException("the channel's send counter is exhausted");
                }

                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(TransportMessage.HeaderLength), json.Length);
                json.CopyTo(buffer.AsSpan(TransportMessage.HeaderLength + ChannelConstants.LengthPrefix));
                var sealedLength = _keypair.Seal(counter, buffer.AsSpan(0, length), plaintext);
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
    /// Reads one frame. Returns the message, or null with <paramref name="error"/> (an ErrorCodes value) when the
    /// frame is too large, forged, replayed or not a valid message; null with no error when the peer closed.
    /// </summary>
    public async Task<(ControlMessage? Message, string? Error, string? Detail)> ReceiveAsync(CancellationToken cancellationToken)
    {
        var (length, closed, tooLarge) = await ReceiveRawAsync(cancellationToken);
        if (closed)
        {
            return (null, null, null);
        }

        if (tooLarge)
        {
            return (null, ErrorCodes.TooLarge, $"a message may be at most {_maxReceive} bytes");
        }

        var datagram = _receiveBuffer.AsSpan(0, length);
        if (length < TransportMessage.MinimumLength || datagram[0] != TransportMessage.MessageType || TransportMessage.ReadReceiver(datagram) != _keypair.LocalIndex)
        {
            return (null, ErrorCodes.BadRequest, "not a transport message of this channel");
        }

        var status = _keypair.Open(datagram, Age, out var plaintextLength);
        if (status != OpenStatus.Ok)
        {
            return (null, ErrorCodes.Unauthorized, $"frame rejected: {status}");
        }

        var plaintext = datagram.Slice(TransportMessage.HeaderLength, plaintextLength);
        if (plaintext.Length < ChannelConstants.LengthPrefix)
        {
            return (null, ErrorCodes.BadRequest, "frame without a length");
        }

        var jsonLength = BinaryPrimitives.ReadInt32LittleEndian(plaintext);
        if (jsonLength < 0 || jsonLength > plaintext.Length - ChannelConstants.LengthPrefix)
        {
            return (null, ErrorCodes.BadRequest, "frame length out of range");
        }

        if (!ProtocolJson.TryDeserialize(plaintext.Slice(ChannelConstants.LengthPrefix, jsonLength), out var message, out var error))
        {
            return (null, ErrorCodes.BadRequest, $"malformed message: {error}");
        }

        return (message, null, null);
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
        _keypair.Dispose();
        _sendLock.Dispose();
    }
}
