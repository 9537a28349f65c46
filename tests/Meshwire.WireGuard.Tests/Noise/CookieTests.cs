using System.Net;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

public sealed class CookieTests
{
    private static readonly EndpointAddress Source = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.10:51820"));
    private static readonly EndpointAddress OtherPort = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.10:51821"));
    private static readonly EndpointAddress OtherHost = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.11:51820"));
    private static readonly EndpointAddress Source6 = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("[2001:db8::1]:51820"));

    [Fact]
    public void CheckMac1_UntouchedInitiation_True()
    {
        var pair = new TestPair();

        Assert.True(pair.ResponderCookies.CheckMac1(pair.CreateInitiation()));
    }

    [Fact]
    public void CheckMac1_AddressedToAnotherDevice_False()
    {
        var pair = new TestPair();

        Assert.False(pair.InitiatorCookies.CheckMac1(pair.CreateInitiation()));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(100)]
    [InlineData(116)]
    [InlineData(131)]
    public void CheckMac1_ByteFlipped_False(int index)
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        initiation[index] ^= 0x04;

        Assert.False(pair.ResponderCookies.CheckMac1(initiation));
    }

    [Fact]
    public void TryCreateInitiation_NoCookie_Mac2IsZero()
    {
        var pair = new TestPair();

        var initiation = pair.CreateInitiation();

        Assert.All(initiation[^16..], b => Assert.Equal(0, b));
        Assert.False(pair.ResponderCookies.CheckMac2(initiation, Source, TestPair.Now0));
    }

    [Fact]
    public void WriteCookieReply_Initiation_AddressesSenderIndex()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation(index: 0xCAFEBABE);
        var reply = new byte[MessageSize.CookieReply];

        Assert.Equal(MessageSize.CookieReply, pair.ResponderCookies.WriteCookieReply(initiation, Source, TestPair.Now0, reply));

        Assert.True(MessageReader.TryGetType(reply, out var type));
        Assert.Equal(MessageType.CookieReply, type);
        Assert.Equal(0xCAFEBABEu, MessageReader.ReadReceiverIndex(reply));
    }

    [Fact]
    public void Mac2_AfterCookieReply_AcceptedForSameSourceOnly()
    {
        var pair = new TestPair();
        var now = TestPair.At(1000);
        var first = pair.CreateInitiation(now: now);
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, now, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, now));

        var second = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1), now: now + TimeSpan.FromSeconds(1));

        Assert.True(pair.ResponderCookies.CheckMac1(second));
        Assert.True(pair.ResponderCookies.CheckMac2(second, Source, now + TimeSpan.FromSeconds(1)));
        Assert.False(pair.ResponderCookies.CheckMac2(second, OtherPort, now + TimeSpan.FromSeconds(1)));
        Assert.False(pair.ResponderCookies.CheckMac2(second, OtherHost, now + TimeSpan.FromSeconds(1)));
        Assert.True(pair.TryReceiveInitiation(second, now + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Mac2_IPv6Source_AcceptedForSameSourceOnly()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source6, TestPair.Now0, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));

        var second = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1));

        Assert.True(pair.ResponderCookies.CheckMac2(second, Source6, TestPair.Now0));
        Assert.False(pair.ResponderCookies.CheckMac2(second, Source, TestPair.Now0));
    }

    [Fact]
    public void Mac2_OnResponse_CookieFromInitiatorAccepted()
    {
        // The responder can be asked for a cookie too: the reply is sealed to the MAC1 of its response.
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        var response = pair.CreateResponse(out _);
        var reply = new byte[MessageSize.CookieReply];
        Assert.Equal(64, pair.InitiatorCookies.WriteCookieReply(response, Source, TestPair.Now0, reply));
        Assert.Equal(MessageReader.ReadSenderIndex(response), MessageReader.ReadReceiverIndex(reply));

        Assert.True(pair.Responder.TryConsumeCookieReply(reply, TestPair.Now0));
    }

    [Theory]
    [InlineData(119, true)]
    [InlineData(120, false)]
    [InlineData(121, false)]
    public void TryCreateInitiation_CookieAge_Mac2OnlyWhileYoungerThan120Seconds(int ageSeconds, bool hasMac2)
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, TestPair.Now0, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));

        var later = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(ageSeconds), now: TestPair.At(ageSeconds));

        Assert.Equal(hasMac2, later[^16..].Any(b => b != 0));
    }

    [Fact]
    public void CheckMac2_SecretOlderThan120Seconds_False()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, TestPair.Now0, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
        var second = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1), now: TestPair.At(100));

        Assert.True(pair.ResponderCookies.CheckMac2(second, Source, TestPair.At(120)));
        Assert.False(pair.ResponderCookies.CheckMac2(second, Source, TestPair.At(121)));
    }

    [Fact]
    public void WriteCookieReply_After120Seconds_RotatesSecretSoOldCookiesFail()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, TestPair.Now0, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
        var withOldCookie = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1), now: TestPair.At(100));

        // Another sender triggers a reply at 130 s: the secret is replaced.
        pair.ResponderCookies.WriteCookieReply(first, OtherHost, TestPair.At(130), new byte[64]);

        Assert.False(pair.ResponderCookies.CheckMac2(withOldCookie, Source, TestPair.At(130)));
    }

    [Fact]
    public void WriteCookieReply_Within120Seconds_KeepsSecret()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, TestPair.Now0, reply);
        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
        var withCookie = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1), now: TestPair.At(50));

        pair.ResponderCookies.WriteCookieReply(first, OtherHost, TestPair.At(60), new byte[64]);

        Assert.True(pair.ResponderCookies.CheckMac2(withCookie, Source, TestPair.At(60)));
    }

    [Fact]
    public void TryConsumeCookieReply_NothingSentYet_False()
    {
        var pair = new TestPair();
        var initiation = new TestPair().CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(initiation, Source, TestPair.Now0, reply);

        Assert.False(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
    }

    [Fact]
    public void TryConsumeCookieReply_ReplyToAnOlderMessage_False()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        pair.ResponderCookies.WriteCookieReply(first, Source, TestPair.Now0, reply);
        pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1));

        Assert.False(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
    }

    [Fact]
    public void TryConsumeCookieReply_FromAnotherResponderKey_False()
    {
        var pair = new TestPair();
        var first = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        new CookieChecker(new LocalIdentity(X25519Keys.GeneratePrivateKey())).WriteCookieReply(first, Source, TestPair.Now0, reply);

        Assert.False(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
    }

    [Fact]
    public void WriteCookieReply_DestinationTooSmall_ReturnsZero()
    {
        var pair = new TestPair();

        Assert.Equal(0, pair.ResponderCookies.WriteCookieReply(pair.CreateInitiation(), Source, TestPair.Now0, new byte[63]));
    }

    [Fact]
    public void WriteSourceBytes_IPv4_FourAddressBytesThenPortLittleEndian()
    {
        var bytes = new byte[18];
        CookieChecker.WriteSourceBytes(Source, bytes, out var length);

        Assert.Equal(6, length);
        Assert.Equal(new byte[] { 192, 0, 2, 10, 0x6C, 0xCA }, bytes[..6]);
    }

    [Fact]
    public void WriteSourceBytes_IPv6_SixteenAddressBytesThenPortLittleEndian()
    {
        var bytes = new byte[18];
        CookieChecker.WriteSourceBytes(Source6, bytes, out var length);

        Assert.Equal(18, length);
        Assert.Equal(IPAddress.Parse("2001:db8::1").GetAddressBytes(), bytes[..16]);
        Assert.Equal(new byte[] { 0x6C, 0xCA }, bytes[16..]);
    }
}
