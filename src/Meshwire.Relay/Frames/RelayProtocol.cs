namespace Meshwire.Relay.Frames;

// The relay frame protocol, in one place (docs/relay.md "Frame protocol").
// After the HTTP upgrade both directions carry frames: type (1 byte), payload length (4 bytes, big endian), payload.
//
// Handshake, in order:
//   server -> client  ServerKey   magic, server public key, 32-byte random challenge
//   client -> server  ClientInfo  client node public key, nonce, sealed proof (see ClientProof)
//   server -> client  ServerInfo  protocol version, rate limit; the client is now registered
// After that, any order: SendPacket/RecvPacket, KeepAlive, Ping/Pong, NotePreferred, PeerGone,
// and for mesh peers only: WatchConns, PeerPresent, ForwardPacket.

/// <summary>Frame types. Values are wire constants; never renumber.</summary>
public enum FrameType : byte
{
    ServerKey = 0x01,
    ClientInfo = 0x02,
    ServerInfo = 0x03,
    SendPacket = 0x04,
    RecvPacket = 0x05,
    KeepAlive = 0x06,
    NotePreferred = 0x07,
    PeerGone = 0x08,
    PeerPresent = 0x09,
    WatchConns = 0x0A,
    ForwardPacket = 0x0B,
    Ping = 0x0C,
    Pong = 0x0D,
}

/// <summary>Why a PeerGone frame was sent.</summary>
public enum PeerGoneReason : byte
{
    /// <summary>The peer was connected here (or on a meshed relay) and has left.</summary>
    Disconnected = 0,

    /// <summary>A packet was sent to a key no relay of this region knows.</summary>
    NotHere = 1,
}

/// <summary>Sizes and limits of the frame protocol.</summary>
public static class RelayProtocol
{
    /// <summary>Protocol version carried in ServerInfo and in the sealed client proof.</summary>
    public const byte Version = 1;

    /// <summary>The HTTP Upgrade token (RFC 9110 section 7.8) the relay endpoint answers.</summary>
    public const string UpgradeToken = "meshwire-relay";

    /// <summary>The HTTP path of the relay endpoint.</summary>
    public const string Path = "/relay";

    public const int FrameHeaderLength = 5;
    public const int KeyLength = 32;

    /// <summary>Largest packet a client may relay: a WireGuard message never exceeds this.</summary>
    public const int MaxPacketSize = 64 * 1024;

    /// <summary>Largest frame payload: a ForwardPacket with two keys and a full packet.</summary>
    public const int MaxFramePayload = (2 * KeyLength) + MaxPacketSize;

    /// <summary>Largest whole frame on the wire.</summary>
    public const int MaxFrameLength = FrameHeaderLength + MaxFramePayload;

    /// <summary>"MWRELAY" and a version byte; lets a client refuse a server that is not a relay.</summary>
    public static ReadOnlySpan<byte> Magic => "MWRELAY\u0001"u8;

    public const int ChallengeLength = 32;
    public const int ServerKeyPayloadLength = 8 + KeyLength + ChallengeLength;

    public const int PingDataLength = 8;
    public const int ServerInfoPayloadLength = 9;
}
