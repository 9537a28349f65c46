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
    /// Keypairs are rejected after REJECT_AFTER_TIME (whitepaper 6.1, 180 s); the server ends a channel whose keys
    /// are this old (counted from the last handshake on the channel, the first or a rekey), and the node then opens
    /// a new one (its stream restarts with a full map). A node that rekeys in time keeps its channel.
    /// </summary>
    public static readonly TimeSpan ChannelLifetime = TimeSpan.FromSeconds(170);

    /// <summary>
    /// The node sends a new handshake initiation on the open channel once its keys are this old (REKEY_AFTER_TIME,
    /// whitepaper 6.1), leaving 50 s before <see cref="ChannelLifetime"/> for the response. The WebSocket is
    /// reliable, so an initiation is sent once per keypair (no REKEY_TIMEOUT retries); a refused one closes the channel.
    /// </summary>
    public static readonly TimeSpan RekeyAfterTime = TimeSpan.FromSeconds(120);

    /// <summary>Largest plaintext a server sends in one frame (a full map of a large tailnet).</summary>
    public const int MaxServerMessage = 64 << 20;

    /// <summary>Length prefix of each frame's plaintext (the transport pads the plaintext to 16 bytes with zeros).</summary>
    public const int LengthPrefix = 4;
}
