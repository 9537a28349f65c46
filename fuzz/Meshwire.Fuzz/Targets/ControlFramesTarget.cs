using System.Buffers.Binary;
using System.Net.WebSockets;
using Meshwire.Control.Channel;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// The control channel's frame codec (src/Meshwire.Control.Client/Channel/SecureFrames.cs) read through a WebSocket
/// that delivers the fuzzer's messages. The input is a series of records, each: kind (1) | length (2, LE) | bytes;
/// kind 0 sends the bytes as they are, 1 seals them as a frame's whole plaintext with the peer's keys, 2 seals them
/// as the JSON of a well-framed message, 3 closes. Contract: ReceiveAsync never throws; it returns a close only for
/// a close, a handshake only for a message of type 1 or 2, an error only from ErrorCodes; unsealed bytes never
/// become a message; a well-framed sealed message is returned exactly when ProtocolJson accepts its JSON.
/// </summary>
public static class ControlFramesTarget
{
    public static readonly FuzzTarget Target = new("control-frames", "control channel: sealed frames, length prefix and JSON (SecureFrames)", Run, Seeds);

    private const int MaxReceive = 4096;
    private static readonly Key32 ClientToServer = Key32.FromSpan(RelayFramesTarget.Fixed(11));
    private static readonly Key32 ServerToClient = Key32.FromSpan(RelayFramesTarget.Fixed(12));

    public static void Run(ReadOnlySpan<byte> input)
    {
        var socket = new ScriptedSocket();
        using var frames = new SecureFrames(socket, new SessionKeys(ServerToClient, ClientToServer, 1, 2, false), TimeProvider.System, MaxReceive);
        using var peer = new ChannelCipher(new SessionKeys(ClientToServer, ServerToClient, 2, 1, true));
        var rest = input;
        for (var records = 0; records < 64 && rest.Length >= 3; records++)
        {
            var kind = rest[0] & 3;
            var length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(rest[1..]), rest.Length - 3);
            var data = rest.Slice(3, length).ToArray();
            rest = rest[(3 + length)..];
            byte[]? message = kind switch
            {
                0 => data,
                1 => Seal(peer, data),
                2 => Seal(peer, [.. BitConverter.GetBytes(data.Length), .. data]),
                _ => null,
            };
            socket.Next = message;
            var frame = frames.ReceiveAsync(CancellationToken.None).GetAwaiter().GetResult();
            CheckFrame(kind, data, message, frame);
            if (message is null)
            {
                return;
            }
        }
    }

    private static void CheckFrame(int kind, byte[] data, byte[]? sent, ReceivedFrame frame)
    {
        Check(frame.IsClosed == (sent is null), frame.IsClosed ? "a close for a message" : "no close for a close");
        if (sent is null)
        {
            return;
        }

        Check(frame.Error is null or ErrorCodes.TooLarge or ErrorCodes.BadRequest or ErrorCodes.Unauthorized, $"error {frame.Error} is not one of the channel's");
        Check((frame.Error is not null) == (frame.Message is null && frame.Handshake.IsEmpty), "an error with a result, or neither");
        var tooLarge = sent.Length > MaxReceive + 64;
        Check((frame.Error == ErrorCodes.TooLarge) == tooLarge, $"a {sent.Length}-byte message {(tooLarge ? "passed" : "was refused as too large")}");
        if (!frame.Handshake.IsEmpty)
        {
            Check(!tooLarge && sent[0] is MessageType.Initiation or MessageType.Response && frame.Handshake.Span.SequenceEqual(sent), "a handshake that is not the message sent");
        }

        if (kind == 0 && sent.Length > 0 && sent[0] is not (MessageType.Initiation or MessageType.Response))
        {
            Check(frame.Message is null, "unsealed bytes became a message");
        }

        if (kind == 2 && !tooLarge)
        {
            var accepted = ProtocolJson.TryDeserialize(data, out var expected, out _);
            Check((frame.Message is not null) == accepted, $"a sealed message {(accepted ? "was refused" : "passed")} where ProtocolJson says {accepted}");
            if (accepted)
            {
                Check(ProtocolJson.Serialize(frame.Message!).AsSpan().SequenceEqual(ProtocolJson.Serialize(expected!)), "the frame's message is not the JSON's");
            }
        }
    }

    private static byte[] Seal(ChannelCipher cipher, byte[] plaintext)
    {
        var datagram = new byte[TransportMessage.DatagramLength(plaintext.Length)];
        plaintext.CopyTo(datagram, TransportMessage.HeaderLength);
        Check(cipher.TryReserveSendCounter(out var counter), "send counter exhausted");
        var length = cipher.Seal(counter, datagram, plaintext.Length);
        return datagram[..length];
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        static byte[] Record(int kind, byte[] data) => [(byte)kind, (byte)data.Length, (byte)(data.Length >> 8), .. data];
        var keepalive = ProtocolJson.Serialize(new KeepAlive { Seq = 7 });
        var error = ProtocolJson.Serialize(new ErrorMessage { Code = ErrorCodes.BadRequest, Message = "x" });
        yield return ("keepalive", Record(2, keepalive));
        yield return ("two-messages-then-close", [.. Record(2, keepalive), .. Record(2, error), .. Record(3, [])]);
        yield return ("raw-initiation", Record(0, [1, 0, 0, 0, .. new byte[144]]));
        yield return ("raw-transport-forged", Record(0, [4, 0, 0, 0, 1, 0, 0, 0, .. new byte[40]]));
        yield return ("sealed-bad-length", Record(1, [0xFF, 0xFF, 0xFF, 0x7F, (byte)'{', (byte)'}']));
        yield return ("sealed-null-tags", Record(2, "{\"type\":\"register\",\"nodeKey\":\"nodekey:0000000000000000000000000000000000000000000000000000000000000000\",\"hostname\":\"a\",\"tags\":[null]}"u8.ToArray()));
    }

    /// <summary>A WebSocket whose next received message is <see cref="Next"/> (null: a close), delivered in pieces as the reader's buffer allows.</summary>
    private sealed class ScriptedSocket : WebSocket
    {
        private byte[]? _next;
        private int _offset;

        public byte[]? Next
        {
            set
            {
                _next = value;
                _offset = 0;
            }
        }

        public override WebSocketCloseStatus? CloseStatus => null;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => WebSocketState.Open;

        public override string? SubProtocol => null;

        public override ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            if (_next is null)
            {
                return ValueTask.FromResult(new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true));
            }

            var count = Math.Min(buffer.Length, _next.Length - _offset);
            _next.AsSpan(_offset, count).CopyTo(buffer.Span);
            _offset += count;
            return ValueTask.FromResult(new ValueWebSocketReceiveResult(count, WebSocketMessageType.Binary, _offset == _next.Length));
        }

        public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
        {
            var result = await ReceiveAsync(buffer.AsMemory(), cancellationToken);
            return new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage);
        }

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Abort()
        {
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override void Dispose()
        {
        }
    }
}
