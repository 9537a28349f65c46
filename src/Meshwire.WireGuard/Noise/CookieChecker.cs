using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// The receiving device's half of the cookie mechanism (W 5.3 "under load", 5.4.4, 5.4.7).
/// Flow: every handshake message must carry a valid MAC1 (keyed by our public key) before any DH work is done.
/// When the device judges itself under load it also demands MAC2: a message without a valid one is answered with a
/// cookie reply instead of being processed, and the sender's next message carries MAC2 keyed by that cookie.
/// The cookie is MAC(R_m, source address): R_m is a random secret replaced every 2 minutes, and the address bytes
/// are laid out as wireguard-go does (4 or 16 address bytes, then the port little-endian). Only this device ever
/// recomputes its cookies, so the layout needs no agreement with peers.
/// Thread-safe: the secret is read and rotated under a lock.
/// </summary>
public sealed class CookieChecker
{
    private readonly LocalIdentity _local;

    private readonly Lock _secretLock = new();

    // Guarded by _secretLock.
    private Bytes32 _secret;
    private TimeSpan? _secretCreatedAt;

    public CookieChecker(LocalIdentity local)
    {
        ArgumentNullException.ThrowIfNull(local);
        _local = local;
    }

    /// <summary>True when an initiation or response carries msg.mac1 = MAC(HASH(LABEL_MAC1 || S_pub), msg[..mac1]).</summary>
    public bool CheckMac1(ReadOnlySpan<byte> message)
    {
        if (!IsHandshakeMessage(message))
        {
            return false;
        }

        var mac1Offset = MessageLayout.Mac1Offset(message.Length);
        Span<byte> expected = stackalloc byte[Blake2s.MacLength];
        Blake2s.Mac(_local.Mac1Key.Span, message[..mac1Offset], expected);
        return CryptographicOperations.FixedTimeEquals(expected, message.Slice(mac1Offset, Blake2s.MacLength));
    }

    /// <summary>
    /// True when msg.mac2 = MAC(cookie, msg[..mac2]) for the cookie this device would give <paramref name="source"/>
    /// now. Always false while no secret younger than 120 s exists, i.e. before the first cookie reply.
    /// </summary>
    public bool CheckMac2(ReadOnlySpan<byte> message, EndpointAddress source, TimeSpan now)
    {
        if (!IsHandshakeMessage(message))
        {
            return false;
        }

        Span<byte> cookie = stackalloc byte[Blake2s.MacLength];
        lock (_secretLock)
        {
            if (_secretCreatedAt is not { } createdAt || now - createdAt > NoiseConstants.CookieRefreshTime)
            {
                return false;
            }

            MakeCookie(source, cookie);
        }

        var mac2Offset = MessageLayout.Mac2Offset(message.Length);
        Span<byte> expected = stackalloc byte[Blake2s.MacLength];
        Blake2s.Mac(cookie, message[..mac2Offset], expected);
        CryptographicOperations.ZeroMemory(cookie);
        return CryptographicOperations.FixedTimeEquals(expected, message.Slice(mac2Offset, Blake2s.MacLength));
    }

    /// <summary>
    /// Writes the 64-byte cookie reply to <paramref name="message"/> (an initiation or response from
    /// <paramref name="source"/>): receiver = the message's sender index, a random 24-byte nonce, and the cookie
    /// sealed with XAEAD(HASH(LABEL_COOKIE || S_pub), nonce, cookie, msg.mac1). Returns the bytes written, or 0 when
    /// the message is not a handshake message or the destination is too small.
    /// </summary>
    public int WriteCookieReply(ReadOnlySpan<byte> message, EndpointAddress source, TimeSpan now, Span<byte> destination)
    {
        if (!IsHandshakeMessage(message) || destination.Length < MessageSize.CookieReply)
        {
            return 0;
        }

        Span<byte> cookie = stackalloc byte[Blake2s.MacLength];
        lock (_secretLock)
        {
            if (_secretCreatedAt is not { } createdAt || now - createdAt > NoiseConstants.CookieRefreshTime)
            {
                RandomNumberGenerator.Fill(_secret);
                _secretCreatedAt = now;
            }

            MakeCookie(source, cookie);
        }

        var reply = destination[..MessageSize.CookieReply];
        reply.Clear();
        reply[0] = MessageType.CookieReply;
        BinaryPrimitives.WriteUInt32LittleEndian(reply[MessageLayout.CookieReplyReceiver..], MessageReader.ReadSenderIndex(message));
        var nonce = reply.Slice(MessageLayout.CookieReplyNonce, Aead.XNonceLength);
        RandomNumberGenerator.Fill(nonce);
        var mac1 = message.Slice(MessageLayout.Mac1Offset(message.Length), Blake2s.MacLength);
        Aead.XSeal(_local.CookieKey.Span, nonce, cookie, mac1, reply.Slice(MessageLayout.CookieReplyCookie, MessageLayout.CookieReplyCookieLength));
        CryptographicOperations.ZeroMemory(cookie);
        return MessageSize.CookieReply;
    }

    /// <summary>τ = MAC(R_m, A_m). Caller holds _secretLock.</summary>
    private void MakeCookie(EndpointAddress source, Span<byte> cookie)
    {
        Span<byte> address = stackalloc byte[16 + 2];
        WriteSourceBytes(source, address, out var length);
        Blake2s.Mac(_secret, address[..length], cookie);
    }

    /// <summary>A_m as wireguard-go forms it (netip.AddrPort binary form): IPv4 4 bytes or IPv6 16 bytes, port little-endian.</summary>
    internal static void WriteSourceBytes(EndpointAddress source, Span<byte> destination, out int length)
    {
        Span<byte> address16 = stackalloc byte[16];
        source.WriteAddress16(address16);
        var address = source.IsIPv4 ? address16[12..] : address16;
        address.CopyTo(destination);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[address.Length..], source.Port);
        length = address.Length + 2;
    }

    private static bool IsHandshakeMessage(ReadOnlySpan<byte> message) =>
        MessageReader.TryGetType(message, out var type) && type is MessageType.Initiation or MessageType.Response;
}
