using System.Buffers.Binary;
using Meshwire.Core;

namespace Meshwire.Relay.Frames;

/// <summary>
/// Encoders and decoders for each frame's payload. Writers fill a caller-owned span with a whole frame
/// (header included) and return its length; parsers take a payload from <see cref="FrameReader"/> and return
/// false when it is malformed. Nothing here allocates or throws on bad input.
/// </summary>
public static class RelayFrames
{
    private const int K = RelayProtocol.KeyLength;

    public static int FrameLength(int payloadLength) => RelayProtocol.FrameHeaderLength + payloadLength;

    public static int WriteHeader(Span<byte> destination, FrameType type, int payloadLength)
    {
        destination[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)payloadLength);
        return RelayProtocol.FrameHeaderLength;
    }

    public static int WriteEmpty(Span<byte> destination, FrameType type) => WriteHeader(destination, type, 0);

    public static int WriteServerKey(Span<byte> destination, RelayPublicKey serverKey, ReadOnlySpan<byte> challenge)
    {
        var h = WriteHeader(destination, FrameType.ServerKey, RelayProtocol.ServerKeyPayloadLength);
        RelayProtocol.Magic.CopyTo(destination[h..]);
        serverKey.Value.CopyTo(destination[(h + 8)..]);
        challenge[..RelayProtocol.ChallengeLength].CopyTo(destination[(h + 8 + K)..]);
        return h + RelayProtocol.ServerKeyPayloadLength;
    }

    public static bool TryParseServerKey(ReadOnlySpan<byte> payload, out RelayPublicKey serverKey, out ReadOnlySpan<byte> challenge)
    {
        serverKey = default;
        challenge = default;
        if (payload.Length != RelayProtocol.ServerKeyPayloadLength || !payload[..8].SequenceEqual(RelayProtocol.Magic))
        {
            return false;
        }

        serverKey = new RelayPublicKey(Key32.FromSpan(payload.Slice(8, K)));
        challenge = payload.Slice(8 + K, RelayProtocol.ChallengeLength);
        return true;
    }

    public static int WriteServerInfo(Span<byte> destination, uint bytesPerSecond, uint burstBytes)
    {
        var h = WriteHeader(destination, FrameType.ServerInfo, RelayProtocol.ServerInfoPayloadLength);
        destination[h] = RelayProtocol.Version;
        BinaryPrimitives.WriteUInt32BigEndian(destination[(h + 1)..], bytesPerSecond);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(h + 5)..], burstBytes);
        return h + RelayProtocol.ServerInfoPayloadLength;
    }

    public static bool TryParseServerInfo(ReadOnlySpan<byte> payload, out byte version, out uint bytesPerSecond, out uint burstBytes)
    {
        version = 0;
        bytesPerSecond = burstBytes = 0;
        if (payload.Length < RelayProtocol.ServerInfoPayloadLength)
        {
            return false;
        }

        version = payload[0];
        bytesPerSecond = BinaryPrimitives.ReadUInt32BigEndian(payload[1..]);
        burstBytes = BinaryPrimitives.ReadUInt32BigEndian(payload[5..]);
        return true;
    }

    public static int SendPacketLength(int packetLength) => FrameLength(K + packetLength);

    public static int WriteSendPacket(Span<byte> destination, NodePublicKey to, ReadOnlySpan<byte> packet) =>
        WriteKeyAndPacket(destination, FrameType.SendPacket, to.Value, packet);

    public static int WriteRecvPacket(Span<byte> destination, NodePublicKey from, ReadOnlySpan<byte> packet) =>
        WriteKeyAndPacket(destination, FrameType.RecvPacket, from.Value, packet);

    /// <summary>Parses SendPacket (key = destination) or RecvPacket (key = source).</summary>
    public static bool TryParseKeyAndPacket(ReadOnlySpan<byte> payload, out NodePublicKey key, out ReadOnlySpan<byte> packet)
    {
        key = default;
        packet = default;
        if (payload.Length < K || payload.Length - K > RelayProtocol.MaxPacketSize)
        {
            return false;
        }

        key = new NodePublicKey(Key32.FromSpan(payload[..K]));
        packet = payload[K..];
        return true;
    }

    public static int ForwardPacketLength(int packetLength) => FrameLength((2 * K) + packetLength);

    public static int WriteForwardPacket(Span<byte> destination, NodePublicKey from, NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        var h = WriteHeader(destination, FrameType.ForwardPacket, (2 * K) + packet.Length);
        from.Value.CopyTo(destination[h..]);
        to.Value.CopyTo(destination[(h + K)..]);
        packet.CopyTo(destination[(h + (2 * K))..]);
        return h + (2 * K) + packet.Length;
    }

    public static bool TryParseForwardPacket(ReadOnlySpan<byte> payload, out NodePublicKey from, out NodePublicKey to, out ReadOnlySpan<byte> packet)
    {
        from = to = default;
        packet = default;
        if (payload.Length < 2 * K)
        {
            return false;
        }

        from = new NodePublicKey(Key32.FromSpan(payload[..K]));
        to = new NodePublicKey(Key32.FromSpan(payload.Slice(K, K)));
        packet = payload[(2 * K)..];
        return true;
    }

    public const int PeerGoneFrameLength = RelayProtocol.FrameHeaderLength + K + 1;

    public static int WritePeerGone(Span<byte> destination, NodePublicKey peer, PeerGoneReason reason)
    {
        var h = WriteHeader(destination, FrameType.PeerGone, K + 1);
        peer.Value.CopyTo(destination[h..]);
        destination[h + K] = (byte)reason;
        return h + K + 1;
    }

    /// <summary>A PeerGone without a reason byte reads as <see cref="PeerGoneReason.Disconnected"/>.</summary>
    public static bool TryParsePeerGone(ReadOnlySpan<byte> payload, out NodePublicKey peer, out PeerGoneReason reason)
    {
        peer = default;
        reason = PeerGoneReason.Disconnected;
        if (payload.Length < K)
        {
            return false;
        }

        peer = new NodePublicKey(Key32.FromSpan(payload[..K]));
        if (payload.Length > K)
        {
            reason = (PeerGoneReason)payload[K];
        }

        return true;
    }

    public const int PeerPresentFrameLength = RelayProtocol.FrameHeaderLength + K;

    public static int WritePeerPresent(Span<byte> destination, NodePublicKey peer)
    {
        var h = WriteHeader(destination, FrameType.PeerPresent, K);
        peer.Value.CopyTo(destination[h..]);
        return h + K;
    }

    public static bool TryParsePeerPresent(ReadOnlySpan<byte> payload, out NodePublicKey peer)
    {
        peer = default;
        if (payload.Length < K)
        {
            return false;
        }

        peer = new NodePublicKey(Key32.FromSpan(payload[..K]));
        return true;
    }

    public const int PingFrameLength = RelayProtocol.FrameHeaderLength + RelayProtocol.PingDataLength;

    /// <summary>Writes a Ping or a Pong carrying 8 opaque bytes.</summary>
    public static int WritePing(Span<byte> destination, FrameType pingOrPong, ulong data)
    {
        var h = WriteHeader(destination, pingOrPong, RelayProtocol.PingDataLength);
        BinaryPrimitives.WriteUInt64BigEndian(destination[h..], data);
        return h + RelayProtocol.PingDataLength;
    }

    public static bool TryParsePing(ReadOnlySpan<byte> payload, out ulong data)
    {
        data = 0;
        if (payload.Length < RelayProtocol.PingDataLength)
        {
            return false;
        }

        data = BinaryPrimitives.ReadUInt64BigEndian(payload);
        return true;
    }

    public static int WriteNotePreferred(Span<byte> destination, bool preferred)
    {
        var h = WriteHeader(destination, FrameType.NotePreferred, 1);
        destination[h] = preferred ? (byte)1 : (byte)0;
        return h + 1;
    }

    public static bool TryParseNotePreferred(ReadOnlySpan<byte> payload, out bool preferred)
    {
        preferred = payload.Length >= 1 && payload[0] != 0;
        return payload.Length >= 1;
    }

    private static int WriteKeyAndPacket(Span<byte> destination, FrameType type, Key32 key, ReadOnlySpan<byte> packet)
    {
        var h = WriteHeader(destination, type, K + packet.Length);
        key.CopyTo(destination[h..]);
        packet.CopyTo(destination[(h + K)..]);
        return h + K + packet.Length;
    }
}
