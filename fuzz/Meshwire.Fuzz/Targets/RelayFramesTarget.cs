using System.Buffers;
using System.Buffers.Binary;
using Meshwire.Core;
using Meshwire.Relay;
using Meshwire.Relay.Frames;
using NSec.Cryptography;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// Relay frames (src/Meshwire.Relay/Frames): the input is a byte stream as a relay connection delivers it.
/// Contract: FrameReader never throws and never reports consuming more than it was given; the span reader and the
/// pipe (two-segment) reader agree at every frame; Oversize and NeedMoreData only where the header says so; every
/// payload parser never throws, accepts exactly the lengths it documents, and what it accepts the matching writer
/// writes back byte for byte.
/// </summary>
public static class RelayFramesTarget
{
    public static readonly FuzzTarget Target = new("relay-frames", "relay frame stream: FrameReader and every payload parser", Run, Seeds);

    private static readonly Lazy<(Key Private, RelayPublicKey Public)> ServerKey = new(() =>
    {
        var key = Key.Import(KeyAgreementAlgorithm.X25519, Fixed(7), KeyBlobFormat.RawPrivateKey);
        return (key, new RelayPublicKey(Key32.FromSpan(key.PublicKey.Export(KeyBlobFormat.RawPublicKey))));
    });

    public static void Run(ReadOnlySpan<byte> input)
    {
        var all = input.ToArray();
        var offset = 0;
        for (var frames = 0; frames < 4096; frames++)
        {
            var rest = all.AsSpan(offset);
            var status = FrameReader.TryRead(rest, out var type, out var payload, out var consumed);
            CheckAgainstSequence(all.AsMemory(offset), status, type, payload, consumed);
            switch (status)
            {
                case FrameReadStatus.NeedMoreData:
                    Check(consumed == 0, "NeedMoreData reported bytes consumed");
                    Check(rest.Length < RelayProtocol.FrameHeaderLength
                        || rest.Length < RelayProtocol.FrameHeaderLength + BinaryPrimitives.ReadUInt32BigEndian(rest[1..]),
                        "NeedMoreData with a whole frame in the input");
                    return;
                case FrameReadStatus.Oversize:
                    Check(BinaryPrimitives.ReadUInt32BigEndian(rest[1..]) > RelayProtocol.MaxFramePayload, "Oversize for a frame within the limit");
                    return;
                case FrameReadStatus.Frame:
                    Check(consumed > 0 && consumed <= rest.Length, $"consumed {consumed} of {rest.Length} bytes");
                    Check(consumed == RelayProtocol.FrameHeaderLength + payload.Length, "consumed is not header + payload");
                    Check(payload.SequenceEqual(rest.Slice(RelayProtocol.FrameHeaderLength, payload.Length)), "payload is not the bytes after the header");
                    Check((byte)type == rest[0], "type is not the first byte");
                    CheckPayload(type, payload, rest[..consumed]);
                    offset += consumed;
                    break;
                default:
                    throw new ContractViolation($"unknown status {status}");
            }
        }
    }

    // The pipe reader (frames straddling two segments are copied into scratch) must read exactly what the span reader reads.
    private static void CheckAgainstSequence(ReadOnlyMemory<byte> rest, FrameReadStatus expected, FrameType expectedType, ReadOnlySpan<byte> expectedPayload, int expectedConsumed)
    {
        var at = rest.Length == 0 ? 0 : 1 + (rest.Span[0] % rest.Length);
        var sequence = Segment.Split(rest, Math.Min(at, rest.Length));
        byte[]? scratch = null;
        try
        {
            var status = FrameReader.TryRead(sequence, ref scratch, out var type, out var payload, out var consumed);
            Check(status == expected, $"pipe reader says {status}, span reader {expected}");
            if (status == FrameReadStatus.Frame)
            {
                Check(type == expectedType && consumed == expectedConsumed && payload.SequenceEqual(expectedPayload), "pipe reader read another frame");
            }
        }
        finally
        {
            FrameReader.ReturnScratch(ref scratch);
        }
    }

    private static void CheckPayload(FrameType type, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> frame)
    {
        const int K = RelayProtocol.KeyLength;
        var written = new byte[RelayFrames.FrameLength(Math.Max(payload.Length, ClientProof.PayloadLength))];
        switch (type)
        {
            case FrameType.ServerKey:
            {
                var ok = RelayFrames.TryParseServerKey(payload, out var key, out var challenge);
                Check(ok == (payload.Length == RelayProtocol.ServerKeyPayloadLength && payload[..8].SequenceEqual(RelayProtocol.Magic)), "ServerKey accepted the wrong length or magic");
                if (ok)
                {
                    var n = RelayFrames.WriteServerKey(written, key, challenge);
                    Check(written.AsSpan(0, n).SequenceEqual(frame), "ServerKey does not write back the same bytes");
                }

                break;
            }

            case FrameType.ClientInfo:
            {
                var (serverPrivate, serverPublic) = ServerKey.Value;
                // Forged proofs must fail quietly; a real one cannot come from the fuzzer without the client's key.
                var opened = ClientProof.TryOpen(payload, serverPrivate, serverPublic, new byte[RelayProtocol.ChallengeLength], out _, out _);
                Check(!opened || payload.Length == ClientProof.PayloadLength, "a ClientInfo of the wrong length opened");
                break;
            }

            case FrameType.ServerInfo:
            {
                var ok = RelayFrames.TryParseServerInfo(payload, out var version, out var rate, out var burst);
                Check(ok == (payload.Length >= RelayProtocol.ServerInfoPayloadLength), "ServerInfo length rule broken");
                if (ok && payload.Length == RelayProtocol.ServerInfoPayloadLength && version == RelayProtocol.Version)
                {
                    var n = RelayFrames.WriteServerInfo(written, rate, burst);
                    Check(written.AsSpan(0, n).SequenceEqual(frame), "ServerInfo does not write back the same bytes");
                }

                break;
            }

            case FrameType.SendPacket or FrameType.RecvPacket:
            {
                var ok = RelayFrames.TryParseKeyAndPacket(payload, out var key, out var packet);
                Check(ok == (payload.Length >= K && payload.Length - K <= RelayProtocol.MaxPacketSize), "Send/RecvPacket length rule broken");
                if (ok)
                {
                    var n = type == FrameType.SendPacket ? RelayFrames.WriteSendPacket(written, key, packet) : RelayFrames.WriteRecvPacket(written, key, packet);
                    Check(n == RelayFrames.SendPacketLength(packet.Length) && written.AsSpan(0, n).SequenceEqual(frame), "Send/RecvPacket does not write back the same bytes");
                }

                break;
            }

            case FrameType.ForwardPacket:
            {
                var ok = RelayFrames.TryParseForwardPacket(payload, out var from, out var to, out var packet);
                Check(ok == (payload.Length >= 2 * K), "ForwardPacket length rule broken");
                if (ok)
                {
                    var n = RelayFrames.WriteForwardPacket(written, from, to, packet);
                    Check(n == RelayFrames.ForwardPacketLength(packet.Length) && written.AsSpan(0, n).SequenceEqual(frame), "ForwardPacket does not write back the same bytes");
                }

                break;
            }

            case FrameType.PeerGone:
            {
                var ok = RelayFrames.TryParsePeerGone(payload, out var peer, out var reason);
                Check(ok == (payload.Length >= K), "PeerGone length rule broken");
                Check(!ok || payload.Length > K || reason == PeerGoneReason.Disconnected, "PeerGone without a reason byte is not Disconnected");
                if (ok && payload.Length == K + 1)
                {
                    var n = RelayFrames.WritePeerGone(written, peer, reason);
                    Check(n == RelayFrames.PeerGoneFrameLength && written.AsSpan(0, n).SequenceEqual(frame), "PeerGone does not write back the same bytes");
                }

                break;
            }

            case FrameType.PeerPresent:
            {
                var ok = RelayFrames.TryParsePeerPresent(payload, out var peer);
                Check(ok == (payload.Length >= K), "PeerPresent length rule broken");
                if (ok && payload.Length == K)
                {
                    var n = RelayFrames.WritePeerPresent(written, peer);
                    Check(written.AsSpan(0, n).SequenceEqual(frame), "PeerPresent does not write back the same bytes");
                }

                break;
            }

            case FrameType.Ping or FrameType.Pong:
            {
                var ok = RelayFrames.TryParsePing(payload, out var data);
                Check(ok == (payload.Length >= RelayProtocol.PingDataLength), "Ping length rule broken");
                if (ok && payload.Length == RelayProtocol.PingDataLength)
                {
                    var n = RelayFrames.WritePing(written, type, data);
                    Check(n == RelayFrames.PingFrameLength && written.AsSpan(0, n).SequenceEqual(frame), "Ping does not write back the same bytes");
                }

                break;
            }

            case FrameType.NotePreferred:
            {
                var ok = RelayFrames.TryParseNotePreferred(payload, out var preferred);
                Check(ok == (payload.Length >= 1), "NotePreferred length rule broken");
                if (ok && payload.Length == 1 && payload[0] <= 1)
                {
                    var n = RelayFrames.WriteNotePreferred(written, preferred);
                    Check(written.AsSpan(0, n).SequenceEqual(frame), "NotePreferred does not write back the same bytes");
                }

                break;
            }
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var buffer = new byte[ClientProof.FrameLength + 256];
        var key = new NodePublicKey(Key32.FromSpan(Fixed(1)));
        var other = new NodePublicKey(Key32.FromSpan(Fixed(2)));
        byte[] Take(int n) => buffer.AsSpan(0, n).ToArray();

        yield return ("server-key", Take(RelayFrames.WriteServerKey(buffer, ServerKey.Value.Public, Fixed(3))));
        yield return ("client-info", Take(ClientProof.WriteClientInfo(buffer, new NodePrivateKey(Key32.FromSpan(Fixed(4))), ServerKey.Value.Public, new byte[32], null)));
        yield return ("server-info", Take(RelayFrames.WriteServerInfo(buffer, 1_000_000, 2_000_000)));
        yield return ("send-packet", Take(RelayFrames.WriteSendPacket(buffer, key, [1, 0, 0, 0, 9, 9, 9, 9])));
        yield return ("recv-packet-empty", Take(RelayFrames.WriteRecvPacket(buffer, key, [])));
        yield return ("forward-packet", Take(RelayFrames.WriteForwardPacket(buffer, key, other, [4, 0, 0, 0])));
        yield return ("peer-gone", Take(RelayFrames.WritePeerGone(buffer, key, PeerGoneReason.NotHere)));
        yield return ("peer-present", Take(RelayFrames.WritePeerPresent(buffer, key)));
        yield return ("note-preferred", Take(RelayFrames.WriteNotePreferred(buffer, true)));
        yield return ("keepalive", Take(RelayFrames.WriteEmpty(buffer, FrameType.KeepAlive)));

        // Several frames back to back, as one read delivers them, ending in half a frame.
        var stream = new List<byte>();
        stream.AddRange(Take(RelayFrames.WritePing(buffer, FrameType.Ping, 0x0102030405060708)));
        stream.AddRange(Take(RelayFrames.WritePing(buffer, FrameType.Pong, 0x0102030405060708)));
        stream.AddRange(Take(RelayFrames.WriteEmpty(buffer, FrameType.WatchConns)));
        stream.AddRange(Take(RelayFrames.WriteSendPacket(buffer, other, [0xAA, 0xBB]))[..20]);
        yield return ("stream-ping-pong-partial", [.. stream]);

        // A header announcing more than the largest frame.
        yield return ("oversize", [(byte)FrameType.SendPacket, 0x00, 0x01, 0x00, 0x41]);
    }

    internal static byte[] Fixed(byte seed)
    {
        var bytes = new byte[32];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)(seed * 31 + i);
        }

        return bytes;
    }
}
