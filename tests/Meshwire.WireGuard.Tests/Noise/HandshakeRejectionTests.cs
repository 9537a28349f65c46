using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

/// <summary>Truncated and garbled handshake messages: every consumer returns false, never throws.</summary>
public sealed class HandshakeRejectionTests
{
    [Fact]
    public void TryConsume_InitiationTruncatedAtEveryLength_ReturnsFalse()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();

        for (var length = 0; length < initiation.Length; length++)
        {
            Assert.False(InitiationReader.TryConsume(pair.ResponderIdentity, initiation.AsSpan(0, length), out _));
            Assert.False(pair.ResponderCookies.CheckMac1(initiation.AsSpan(0, length)));
        }

        Assert.False(InitiationReader.TryConsume(pair.ResponderIdentity, [.. initiation, 0], out _));
    }

    [Fact]
    public void TryConsume_InitiationWithAnyByteFlipped_FailsMac1OrDecryption()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        var mac1Offset = MessageSize.Initiation - 32;

        for (var i = 0; i < initiation.Length; i++)
        {
            var garbled = (byte[])initiation.Clone();
            garbled[i] ^= 0x80;

            Assert.False(pair.ResponderCookies.CheckMac1(garbled) && i < MessageSize.Initiation - 16, $"MAC1 accepted a flip at {i}");
            var consumedOk = InitiationReader.TryConsume(pair.ResponderIdentity, garbled, out _);

            // Only the sender index and the MACs lie outside the AEAD-protected transcript.
            var outsideTranscript = i is >= 4 and < 8 || i >= mac1Offset;
            Assert.Equal(outsideTranscript, consumedOk);
        }
    }

    [Fact]
    public void TryConsumeResponse_TruncatedAtEveryLength_ReturnsFalse()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        var response = pair.CreateResponse(out _);

        for (var length = 0; length < response.Length; length++)
        {
            Assert.False(pair.Initiator.TryConsumeResponse(response.AsSpan(0, length), out _));
            Assert.False(pair.InitiatorCookies.CheckMac1(response.AsSpan(0, length)));
        }

        Assert.True(pair.Initiator.TryConsumeResponse(response, out _));
    }

    [Fact]
    public void TryConsumeResponse_AnyTranscriptByteFlipped_ReturnsFalse()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        var response = pair.CreateResponse(out _);

        for (var i = 0; i < MessageSize.Response; i++)
        {
            var garbled = (byte[])response.Clone();
            garbled[i] ^= 0x01;
            var isSenderIndexOrMac = i is >= 4 and < 8 || i >= MessageSize.Response - 32;
            if (!isSenderIndexOrMac)
            {
                Assert.False(pair.Initiator.TryConsumeResponse(garbled, out _), $"flip at {i} accepted");
            }

            if (i < MessageSize.Response - 16)
            {
                Assert.False(pair.InitiatorCookies.CheckMac1(garbled), $"MAC1 accepted a flip at {i}");
            }
        }

        Assert.True(pair.Initiator.TryConsumeResponse(response, out _));
    }

    [Fact]
    public void TryConsumeCookieReply_TruncatedOrGarbled_ReturnsFalse()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        var reply = new byte[MessageSize.CookieReply];
        Assert.Equal(MessageSize.CookieReply, pair.ResponderCookies.WriteCookieReply(initiation, default, TestPair.Now0, reply));

        for (var length = 0; length < reply.Length; length++)
        {
            Assert.False(pair.Initiator.TryConsumeCookieReply(reply.AsSpan(0, length), TestPair.Now0));
        }

        for (var i = 0; i < reply.Length; i++)
        {
            if (i is >= 4 and < 8)
            {
                continue; // the receiver index only routes the reply; the caller checks it
            }

            var garbled = (byte[])reply.Clone();
            garbled[i] ^= 0x01;
            Assert.False(pair.Initiator.TryConsumeCookieReply(garbled, TestPair.Now0), $"flip at {i} accepted");
        }

        Assert.True(pair.Initiator.TryConsumeCookieReply(reply, TestPair.Now0));
    }

    [Theory]
    [InlineData(MessageType.Response)]
    [InlineData(MessageType.CookieReply)]
    [InlineData(MessageType.Transport)]
    [InlineData(0)]
    [InlineData(5)]
    public void TryConsume_WrongTypeByte_ReturnsFalse(byte type)
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        initiation[0] = type;

        Assert.False(InitiationReader.TryConsume(pair.ResponderIdentity, initiation, out _));
        Assert.False(pair.ResponderCookies.CheckMac1(initiation));
    }

    [Fact]
    public void Consumers_EmptyAndRandomInput_ReturnFalse()
    {
        var pair = new TestPair();
        pair.CreateInitiation();
        var random = new Random(1234);
        foreach (var length in new[] { 0, 1, 4, 32, 64, 92, 148, 1500 })
        {
            for (var round = 0; round < 8; round++)
            {
                var junk = new byte[length];
                random.NextBytes(junk);
                if (length > 0)
                {
                    junk[0] = (byte)(round % 5);
                }

                Assert.False(InitiationReader.TryConsume(pair.ResponderIdentity, junk, out _));
                Assert.False(pair.Initiator.TryConsumeResponse(junk, out _));
                Assert.False(pair.Initiator.TryConsumeCookieReply(junk, TestPair.Now0));
                Assert.False(pair.ResponderCookies.CheckMac1(junk));
                Assert.False(pair.ResponderCookies.CheckMac2(junk, default, TestPair.Now0));
                Assert.Equal(0, pair.ResponderCookies.WriteCookieReply(junk, default, TestPair.Now0, new byte[64]));
            }
        }
    }
}
