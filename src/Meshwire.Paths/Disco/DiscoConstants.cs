namespace Meshwire.Paths.Disco;

/// <summary>
/// Sizes, limits and windows of the discovery protocol, in one place (docs/discovery.md "Wire format" and "Replay").
/// </summary>
public static class DiscoConstants
{
    /// <summary>
    /// "MWDISC": the first byte 0x4D is neither a WireGuard message type (1–4, followed by three zero bytes)
    /// nor the start of a STUN message (whose first two bits are 00), so one UDP socket can carry all three.
    /// </summary>
    public static ReadOnlySpan<byte> Magic => "MWDISC"u8;

    public const int MagicLength = 6;
    public const int KeyLength = 32;
    public const int NonceLength = 24;
    public const int TagLength = 16;

    /// <summary>Magic, sender disco public key, nonce: everything before the sealed box.</summary>
    public const int HeaderLength = MagicLength + KeyLength + NonceLength;

    /// <summary>The associated data of the box: magic and sender key, so header bit flips fail the tag.</summary>
    public const int AssociatedDataLength = MagicLength + KeyLength;

    /// <summary>The only payload version this code writes and reads.</summary>
    public const byte Version = 1;

    /// <summary>Type, version, sender timestamp (unix ms, big endian).</summary>
    public const int PayloadHeaderLength = 1 + 1 + 8;

    public const int TxIdLength = 12;

    /// <summary>An endpoint on the wire: 16-byte address (IPv4 as ::ffff:a.b.c.d) and a big-endian port.</summary>
    public const int EndpointLength = 16 + 2;

    /// <summary>Most candidate endpoints one call-me-maybe carries; more are left out by the sender.</summary>
    public const int MaxCallMeMaybeEndpoints = 16;

    public const int PingPayloadLength = PayloadHeaderLength + TxIdLength + KeyLength;
    public const int PongPayloadLength = PayloadHeaderLength + TxIdLength + EndpointLength;
    public const int MinCallMeMaybePayloadLength = PayloadHeaderLength + 1;
    public const int MaxCallMeMaybePayloadLength = MinCallMeMaybePayloadLength + (MaxCallMeMaybeEndpoints * EndpointLength);

    /// <summary>Shortest well-formed message (a call-me-maybe with no endpoints).</summary>
    public const int MinMessageLength = HeaderLength + MinCallMeMaybePayloadLength + TagLength;

    /// <summary>Longest well-formed message; larger datagrams are rejected before any cryptography.</summary>
    public const int MaxMessageLength = HeaderLength + MaxCallMeMaybePayloadLength + TagLength;

    /// <summary>Label mixed into the key derivation, so these keys serve nothing but discovery.</summary>
    public static ReadOnlySpan<byte> KdfLabel => "meshwire disco v1"u8;

    /// <summary>Messages whose sender timestamp is older than this (by the receiver's clock) are dropped.</summary>
    public static readonly TimeSpan ReplayWindow = TimeSpan.FromSeconds(60);

    /// <summary>Messages stamped further ahead than this (clock skew allowance) are dropped.</summary>
    public static readonly TimeSpan MaxFutureSkew = TimeSpan.FromSeconds(30);

    /// <summary>Nonces remembered per sender; when full, the oldest is forgotten and becomes the sender's time floor.</summary>
    public const int ReplayNoncesPerSender = 128;
}
