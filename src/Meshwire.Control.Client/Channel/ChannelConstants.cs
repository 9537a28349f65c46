namespace Meshwire.Control.Channel;

/// <summary>Constants of the control channel (docs/protocol.md "Control channel").</summary>
public static class ChannelConstants
{
    /// <summary>GET: the server's machine key (JSON ServerKeyInfo).</summary>
    public const string KeyPath = "/control/v1/key";

    /// <summary>WebSocket upgrade: the Noise channel.</summary>
    public const string ChannelPath = "/control/v1/channel";

    /// <summary>WebSocket subprotocol naming the framing below.</summary>
    public const string SubProtocol = "meshwire-control-v1";

    /// <summary>The client's handshake message must arrive within this time after the upgrade.</summary>
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Keypairs are rejected after REJECT_AFTER_TIME (whitepaper 6.1, 180 s); the server ends a channel before that
    /// and the client opens a new one (its stream restarts with a full map).
    /// </summary>
    public static readonly TimeSpan ChannelLifetime = TimeSpan.FromSeconds(170);

    /// <summary>Largest plaintext a server sends in one frame (a full map of a large tailnet).</summary>
    public const int MaxServerMessage = 64 << 20;

    /// <summary>Length prefix of each frame's plaintext (the transport pads the plaintext to 16 bytes with zeros).</summary>
    public const int LengthPrefix = 4;
}
