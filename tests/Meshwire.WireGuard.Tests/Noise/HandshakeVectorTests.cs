using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

/// <summary>
/// Fixed keys, fixed ephemerals and a fixed clock against the bytes printed by Vectors/generate_handshake_vector.py,
/// an independent implementation of whitepaper 5.4 on other crypto libraries. No published WireGuard vector with
/// fixed ephemeral keys was found; interop with wireguard-go is tested separately in network namespaces.
/// </summary>
public sealed class HandshakeVectorTests
{
    private const string InitiatorStaticPrivate = "e011111111111111111111111111111111111111111111111111111111111151";
    private const string ResponderStaticPrivate = "e822222222222222222222222222222222222222222222222222222222222262";
    private const string InitiatorEphemeralPrivate = "f033333333333333333333333333333333333333333333333333333333333373";
    private const string ResponderEphemeralPrivate = "f844444444444444444444444444444444444444444444444444444444444444";
    private const string Psk = "5555555555555555555555555555555555555555555555555555555555555555";

    private const string Initiation =
        "01000000443322110179a097539ed5dd951cd9a4c2207ac53834ef16acdf0b0d40122a9583a7d731d5f8882d1758281019b52c1f8808b5a6"
        + "967aec0dfbdcdca51d2bd42b9d30412d0234429c17693ff6d0fa68eb9c1453cb3645f93a8358bd9da8229335faa1a015b2c1319e990f9041"
        + "36178c9990f8221dcc058666654a6b081ba82fa100000000000000000000000000000000";

    private const string Response =
        "02000000d4c3b2a144332211a08a372f892124cde3daebe85981bc5e5c009933dc1ba448679ed560f409203ea4b79bcc17d94a8a92c4bff3"
        + "d8aca3a6a0a2c7a36aa49c4eea525b043100d38200000000000000000000000000000000";

    private const string InitiatorSend = "1421391fbd29cbf86fcfa3b34221ca8166660812f0fb527b90a9de6a0de2f6af";
    private const string InitiatorReceive = "ee78b0734bd463e7ec7d23dcb6e85b3422a37982f41fac4509b758dccf89bd91";

    private const uint InitiatorIndex = 0x11223344;
    private const uint ResponderIndex = 0xA1B2C3D4;

    private static readonly DateTimeOffset When = new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero).AddMilliseconds(500);

    private static NodePrivateKey Private(string hex) => NodePrivateKey.FromSpan(Convert.FromHexString(hex));

    private static (LocalIdentity Initiator, LocalIdentity Responder) Identities() =>
        (new LocalIdentity(Private(InitiatorStaticPrivate)), new LocalIdentity(Private(ResponderStaticPrivate)));

    [Fact]
    public void TryCreateInitiation_FixedEphemeralAndClock_MatchesVectorBytes()
    {
        var (initiator, responder) = Identities();
        var handshake = new Handshake(initiator, responder.PublicKey, PresharedKey.FromSpan(Convert.FromHexString(Psk)))
        {
            EphemeralKeySource = () => Private(InitiatorEphemeralPrivate),
        };

        var message = new byte[MessageSize.Initiation];
        Assert.True(handshake.TryCreateInitiation(InitiatorIndex, When, TestPair.Now0, message));

        Assert.Equal(Initiation, Convert.ToHexStringLower(message));
    }

    [Fact]
    public void TryCreateResponse_FixedEphemeral_MatchesVectorBytesAndKeys()
    {
        var (initiator, responder) = Identities();
        var handshake = new Handshake(responder, initiator.PublicKey, PresharedKey.FromSpan(Convert.FromHexString(Psk)))
        {
            EphemeralKeySource = () => Private(ResponderEphemeralPrivate),
        };
        Assert.True(new CookieChecker(responder).CheckMac1(Convert.FromHexString(Initiation)));
        Assert.True(InitiationReader.TryConsume(responder, Convert.FromHexString(Initiation), out var consumed));
        Assert.Equal(initiator.PublicKey, consumed!.InitiatorStatic);
        Assert.Equal(InitiatorIndex, consumed.SenderIndex);
        Assert.True(handshake.TryAccept(consumed, TestPair.Now0));

        var message = new byte[MessageSize.Response];
        Assert.True(handshake.TryCreateResponse(ResponderIndex, TestPair.Now0, message, out var keys));

        Assert.Equal(Response, Convert.ToHexStringLower(message));
        Assert.Equal(InitiatorReceive, keys.SendKey.ToHex());
        Assert.Equal(InitiatorSend, keys.ReceiveKey.ToHex());
        Assert.Equal(new SessionKeys(keys.SendKey, keys.ReceiveKey, ResponderIndex, InitiatorIndex, false), keys);
    }

    [Fact]
    public void TryConsumeResponse_VectorResponse_DerivesVectorKeys()
    {
        var (initiator, responder) = Identities();
        var handshake = new Handshake(initiator, responder.PublicKey, PresharedKey.FromSpan(Convert.FromHexString(Psk)))
        {
            EphemeralKeySource = () => Private(InitiatorEphemeralPrivate),
        };
        Assert.True(handshake.TryCreateInitiation(InitiatorIndex, When, TestPair.Now0, new byte[MessageSize.Initiation]));
        Assert.True(new CookieChecker(initiator).CheckMac1(Convert.FromHexString(Response)));

        Assert.True(handshake.TryConsumeResponse(Convert.FromHexString(Response), out var keys));

        Assert.Equal(InitiatorSend, keys.SendKey.ToHex());
        Assert.Equal(InitiatorReceive, keys.ReceiveKey.ToHex());
        Assert.Equal(InitiatorIndex, keys.LocalIndex);
        Assert.Equal(ResponderIndex, keys.RemoteIndex);
        Assert.True(keys.IsInitiator);
    }
}
