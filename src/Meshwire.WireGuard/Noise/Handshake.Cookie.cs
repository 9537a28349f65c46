using System.Security.Cryptography;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

// Initiator side of the cookie mechanism (W 5.4.4, 5.4.7): MAC1 and MAC2 on what we send, and the cookie that a
// loaded peer sends back, sealed to the MAC1 of the message it answers.
public sealed partial class Handshake
{
    private Bytes16 _lastMac1;
    private bool _hasLastMac1;
    private Bytes16 _cookie;
    private TimeSpan? _cookieReceivedAt;

    /// <summary>
    /// Decrypts a cookie reply to the last handshake message we sent and keeps the cookie for the MAC2 of our next
    /// messages, for 120 s from <paramref name="now"/>. The caller routed the reply here by its receiver index.
    /// </summary>
    public bool TryConsumeCookieReply(ReadOnlySpan<byte> cookieReply64, TimeSpan now)
    {
        if (!_hasLastMac1 || !MessageReader.TryGetType(cookieReply64, out var type) || type != MessageType.CookieReply)
        {
            return false;
        }

        // τ = XAEAD-open(HASH(LABEL_COOKIE || S_r^pub), msg.nonce, msg.cookie, M) where M is the MAC1 we sent
        Span<byte> cookie = stackalloc byte[Bytes16.Length];
        var nonce = cookieReply64.Slice(MessageLayout.CookieReplyNonce, Aead.XNonceLength);
        var sealedCookie = cookieReply64.Slice(MessageLayout.CookieReplyCookie, MessageLayout.CookieReplyCookieLength);
        if (!Aead.TryXOpen(_cookieKey.Span, nonce, sealedCookie, _lastMac1, cookie))
        {
            return false;
        }

        cookie.CopyTo(_cookie);
        CryptographicOperations.ZeroMemory(cookie);
        _cookieReceivedAt = now;
        return true;
    }

    /// <summary>
    /// msg.mac1 = MAC(HASH(LABEL_MAC1 || S_r^pub), msg[..mac1]); msg.mac2 = MAC(τ, msg[..mac2]) while the cookie τ is
    /// younger than 120 s, else zero. Remembers MAC1 to open a cookie reply to this message.
    /// </summary>
    private void WriteMacs(Span<byte> msg, TimeSpan now)
    {
        var mac1Offset = MessageLayout.Mac1Offset(msg.Length);
        var mac2Offset = MessageLayout.Mac2Offset(msg.Length);
        var mac1 = msg.Slice(mac1Offset, Blake2s.MacLength);
        var mac2 = msg.Slice(mac2Offset, Blake2s.MacLength);

        Blake2s.Mac(_mac1Key.Span, msg[..mac1Offset], mac1);
        mac1.CopyTo(_lastMac1);
        _hasLastMac1 = true;

        if (_cookieReceivedAt is { } receivedAt && now - receivedAt < NoiseConstants.CookieRefreshTime)
        {
            Blake2s.Mac(_cookie, msg[..mac2Offset], mac2);
        }
        else
        {
            mac2.Clear();
        }
    }
}
