using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

// Protocol constants, named as in the WireGuard whitepaper (W) or, where the whitepaper is silent, as in
// wireguard-go and the Linux kernel (which agree on every value here).

/// <summary>The type byte of each message (W 5.4.2 – 5.4.6). It is followed by three reserved zero bytes.</summary>
public static class MessageType
{
    public const byte Initiation = 1;
    public const byte Response = 2;
    public const byte CookieReply = 3;
    public const byte Transport = 4;
}

/// <summary>Wire sizes of the messages (W 5.4.2 – 5.4.6).</summary>
public static class MessageSize
{
    public const int Initiation = 148;
    public const int Response = 92;
    public const int CookieReply = 64;

    /// <summary>type, reserved, receiver index, counter: what precedes the encrypted packet.</summary>
    public const int TransportHeader = 16;

    /// <summary>A keepalive: header plus the Poly1305 tag of an empty payload.</summary>
    public const int TransportMinimum = TransportHeader + Aead.TagLength;
}

/// <summary>Byte offsets inside each message (little-endian indices, W 5.4.2 – 5.4.7).</summary>
internal static class MessageLayout
{
    public const int SenderOffset = 4;

    public const int InitiationEphemeral = 8;
    public const int InitiationStatic = 40;
    public const int InitiationStaticLength = X25519.KeyLength + Aead.TagLength;
    public const int InitiationTimestamp = 88;
    public const int InitiationTimestampLength = Tai64N.Length + Aead.TagLength;

    public const int ResponseReceiver = 8;
    public const int ResponseEphemeral = 12;
    public const int ResponseEmpty = 44;

    public const int CookieReplyReceiver = 4;
    public const int CookieReplyNonce = 8;
    public const int CookieReplyCookie = 32;
    public const int CookieReplyCookieLength = Bytes16.Length + Aead.TagLength;

    public const int TransportReceiver = 4;

    /// <summary>MAC1 and MAC2 close both handshake messages: msg.mac1 at length − 32, msg.mac2 at length − 16.</summary>
    public static int Mac1Offset(int messageLength) => messageLength - 2 * Blake2s.MacLength;

    public static int Mac2Offset(int messageLength) => messageLength - Blake2s.MacLength;
}

/// <summary>Handshake constants and the precomputed start of every transcript (W 5.4, 5.4.7).</summary>
internal static class NoiseConstants
{
    /// <summary>CONSTRUCTION (W 5.4).</summary>
    public static ReadOnlySpan<byte> Construction => "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"u8;

    /// <summary>IDENTIFIER (W 5.4), the Noise prologue.</summary>
    public static ReadOnlySpan<byte> Identifier => "WireGuard v1 zx2c4 Jason@zx2c4.com"u8;

    /// <summary>LABEL_MAC1 (W 5.4.4).</summary>
    public static ReadOnlySpan<byte> LabelMac1 => "mac1----"u8;

    /// <summary>LABEL_COOKIE (W 5.4.7).</summary>
    public static ReadOnlySpan<byte> LabelCookie => "cookie--"u8;

    /// <summary>
    /// How long a cookie secret (responder) and a received cookie (initiator) stay valid: "every two minutes" (W 5.4.7),
    /// COOKIE_REFRESH_TIME in wireguard-go.
    /// </summary>
    public static readonly TimeSpan CookieRefreshTime = TimeSpan.FromSeconds(120);

    /// <summary>
    /// INITIATIONS_PER_SECOND = 50 gives the minimum spacing between accepted initiations from one peer
    /// (wireguard-go HandshakeInitationRate, kernel INITIATIONS_PER_SECOND); the whitepaper leaves the rate open.
    /// </summary>
    public static readonly TimeSpan HandshakeInitiationRate = TimeSpan.FromSeconds(1) / 50;

    /// <summary>C_i = HASH(CONSTRUCTION) (W 5.4.2).</summary>
    public static readonly Key32 InitialChainingKey;

    /// <summary>H_i = HASH(C_i || IDENTIFIER) (W 5.4.2), before the responder's static key is mixed in.</summary>
    public static readonly Key32 InitialHash;

    static NoiseConstants()
    {
        Span<byte> chainingKey = stackalloc byte[Blake2s.HashLength];
        Blake2s.Hash(Construction, chainingKey);
        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Blake2s.Hash(chainingKey, Identifier, hash);
        InitialChainingKey = Key32.FromSpan(chainingKey);
        InitialHash = Key32.FromSpan(hash);
    }

    /// <summary>HASH(label || publicKey): the MAC1 key (LABEL_MAC1) or the cookie encryption key (LABEL_COOKIE).</summary>
    public static Key32 LabelKey(ReadOnlySpan<byte> label, NodePublicKey publicKey)
    {
        Span<byte> key = stackalloc byte[Blake2s.HashLength];
        Blake2s.Hash(label, publicKey.Value.Span, key);
        return Key32.FromSpan(key);
    }

    /// <summary>HASH(H_i || S_r^pub): the transcript hash once the responder's static key is mixed in.</summary>
    public static Key32 HashWithResponderStatic(NodePublicKey responderStatic)
    {
        Span<byte> hash = stackalloc byte[Blake2s.HashLength];
        Blake2s.Hash(InitialHash.Span, responderStatic.Value.Span, hash);
        return Key32.FromSpan(hash);
    }
}
