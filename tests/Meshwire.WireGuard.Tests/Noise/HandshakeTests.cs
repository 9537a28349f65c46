using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

public sealed class HandshakeTests
{
    private static PresharedKey RandomPsk() => PresharedKey.FromSpan(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Complete_NoPresharedKey_KeysMatchCrosswise()
    {
        var pair = new TestPair();

        var (initiator, responder) = pair.Complete();

        Assert.Equal(initiator.SendKey, responder.ReceiveKey);
        Assert.Equal(initiator.ReceiveKey, responder.SendKey);
        Assert.NotEqual(initiator.SendKey, initiator.ReceiveKey);
        Assert.True(initiator.IsInitiator);
        Assert.False(responder.IsInitiator);
    }

    [Fact]
    public void Complete_SamePresharedKey_KeysMatchCrosswise()
    {
        var psk = RandomPsk();
        var pair = new TestPair(psk, psk);

        var (initiator, responder) = pair.Complete();

        Assert.Equal(initiator.SendKey, responder.ReceiveKey);
        Assert.Equal(initiator.ReceiveKey, responder.SendKey);
    }

    [Fact]
    public void Complete_Indices_CrossOverBetweenSides()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation(index: 111);
        Assert.Equal(111u, pair.Initiator.PendingLocalIndex);
        Assert.True(pair.TryReceiveInitiation(initiation, TestPair.Now0));
        var response = pair.CreateResponse(out var responderKeys, index: 222);

        Assert.True(pair.Initiator.TryConsumeResponse(response, out var initiatorKeys));

        Assert.Equal((111u, 222u), (initiatorKeys.LocalIndex, initiatorKeys.RemoteIndex));
        Assert.Equal((222u, 111u), (responderKeys.LocalIndex, responderKeys.RemoteIndex));
        Assert.Equal(222u, MessageReader.ReadSenderIndex(response));
        Assert.Equal(111u, MessageReader.ReadReceiverIndex(response));
    }

    [Fact]
    public void TryConsumeResponse_ResponderHasOtherPresharedKey_Rejected()
    {
        var pair = new TestPair(RandomPsk(), RandomPsk());
        var initiation = pair.CreateInitiation();
        Assert.True(pair.TryReceiveInitiation(initiation, TestPair.Now0));
        var response = pair.CreateResponse(out _);

        Assert.False(pair.Initiator.TryConsumeResponse(response, out _));
        Assert.Equal(HandshakeStateKind.InitiationCreated, pair.Initiator.State);
    }

    [Fact]
    public void TryConsumeResponse_OnlyOneSideHasPresharedKey_Rejected()
    {
        var pair = new TestPair(RandomPsk(), PresharedKey.None);
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        var response = pair.CreateResponse(out _);

        Assert.False(pair.Initiator.TryConsumeResponse(response, out _));
    }

    [Fact]
    public void Complete_TwiceInARow_SecondSessionHasNewKeys()
    {
        var pair = new TestPair();
        var first = pair.Complete(TestPair.Wall0, TestPair.Now0);

        var second = pair.Complete(TestPair.Wall0.AddSeconds(1), TestPair.At(1));

        Assert.Equal(second.Initiator.SendKey, second.Responder.ReceiveKey);
        Assert.NotEqual(first.Initiator.SendKey, second.Initiator.SendKey);
    }

    [Fact]
    public void Complete_RolesSwapped_KeysMatch()
    {
        var pair = new TestPair();
        pair.Complete();
        var initiation = new byte[MessageSize.Initiation];

        Assert.True(pair.Responder.TryCreateInitiation(7, TestPair.Wall0, TestPair.Now0, initiation));
        Assert.True(InitiationReader.TryConsume(pair.InitiatorIdentity, initiation, out var consumed));
        Assert.True(pair.Initiator.TryAccept(consumed!, TestPair.Now0));
        var response = new byte[MessageSize.Response];
        Assert.True(pair.Initiator.TryCreateResponse(8, TestPair.Now0, response, out var keysB));
        Assert.True(pair.Responder.TryConsumeResponse(response, out var keysA));

        Assert.Equal(keysA.SendKey, keysB.ReceiveKey);
        Assert.Equal(keysA.ReceiveKey, keysB.SendKey);
    }

    [Fact]
    public void TryAccept_SameInitiationTwice_ReplayRejected()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        Assert.True(pair.TryReceiveInitiation(initiation, TestPair.Now0));

        Assert.False(pair.TryReceiveInitiation(initiation, TestPair.At(5)));
    }

    [Fact]
    public void TryAccept_NewInitiationWithOlderTimestamp_Rejected()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(10)), TestPair.Now0));

        var older = pair.CreateInitiation(wall: TestPair.Wall0);

        Assert.False(pair.TryReceiveInitiation(older, TestPair.At(5)));
    }

    [Fact]
    public void TryAccept_TimestampsWithinOneWhitenedStep_SecondRejected()
    {
        // TAI64N nanoseconds are rounded down to 2^24 ns, so two initiations 1 ms apart carry equal timestamps.
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(wall: TestPair.Wall0), TestPair.Now0));

        var next = pair.CreateInitiation(wall: TestPair.Wall0.AddMilliseconds(1));

        Assert.False(pair.TryReceiveInitiation(next, TestPair.At(5)));
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(20, false)]
    [InlineData(21, true)]
    public void TryAccept_SecondInitiationAfterMilliseconds_FloodGuardApplies(int milliseconds, bool accepted)
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(wall: TestPair.Wall0), TestPair.At(1)));

        var next = pair.CreateInitiation(wall: TestPair.Wall0.AddSeconds(1));

        Assert.Equal(accepted, pair.TryReceiveInitiation(next, TestPair.At(1) + TimeSpan.FromMilliseconds(milliseconds)));
    }

    [Fact]
    public void TryAccept_RejectedReplay_LeavesStateAlone()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        Assert.True(pair.TryReceiveInitiation(initiation, TestPair.Now0));

        Assert.False(pair.TryReceiveInitiation(initiation, TestPair.At(1)));

        Assert.Equal(HandshakeStateKind.InitiationConsumed, pair.Responder.State);
        pair.CreateResponse(out _);
    }

    [Fact]
    public void TryConsume_InitiationForAnotherDevice_ReturnsFalse()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        var stranger = new LocalIdentity(X25519Keys.GeneratePrivateKey());

        Assert.False(InitiationReader.TryConsume(stranger, initiation, out var consumed));
        Assert.Null(consumed);
    }

    [Fact]
    public void TryAccept_InitiationFromAnotherPeer_ReturnsFalse()
    {
        var pair = new TestPair();
        var other = new TestPair();
        var intruder = new Handshake(other.InitiatorIdentity, pair.ResponderIdentity.PublicKey, PresharedKey.None);
        var initiation = new byte[MessageSize.Initiation];
        Assert.True(intruder.TryCreateInitiation(5, TestPair.Wall0, TestPair.Now0, initiation));

        // The responder can decrypt it (it is addressed to its key), but the peer it names is not this handshake's.
        Assert.True(InitiationReader.TryConsume(pair.ResponderIdentity, initiation, out var consumed));
        Assert.Equal(other.InitiatorIdentity.PublicKey, consumed!.InitiatorStatic);
        Assert.False(pair.Responder.TryAccept(consumed, TestPair.Now0));
        Assert.Equal(HandshakeStateKind.Zeroed, pair.Responder.State);
    }

    [Fact]
    public void TryAccept_ConsumedWithAnotherLocalIdentityObject_ReturnsFalse()
    {
        var pair = new TestPair();
        var sameKeyOtherObject = new LocalIdentity(pair.ResponderIdentity.PrivateKey);
        Assert.True(InitiationReader.TryConsume(sameKeyOtherObject, pair.CreateInitiation(), out var consumed));

        Assert.False(pair.Responder.TryAccept(consumed!, TestPair.Now0));
    }

    [Fact]
    public void TryConsumeResponse_WrongReceiverIndex_Rejected()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(index: 1000), TestPair.Now0));
        var response = pair.CreateResponse(out _);
        response[8] ^= 0x01; // receiver index 1000 -> 1001; MAC1 no longer matches either, but the index check comes first

        Assert.False(pair.Initiator.TryConsumeResponse(response, out _));
        Assert.Equal(HandshakeStateKind.InitiationCreated, pair.Initiator.State);
    }

    [Fact]
    public void TryConsumeResponse_AfterNewerInitiation_RejectedForOldIndex()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(index: 1), TestPair.Now0));
        var response = pair.CreateResponse(out _);
        pair.CreateInitiation(index: 2, wall: TestPair.Wall0.AddSeconds(5));

        Assert.False(pair.Initiator.TryConsumeResponse(response, out _));
    }

    [Fact]
    public void TryConsumeResponse_Twice_SecondRejected()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        var response = pair.CreateResponse(out _);
        Assert.True(pair.Initiator.TryConsumeResponse(response, out _));

        Assert.False(pair.Initiator.TryConsumeResponse(response, out _));
        Assert.Equal(HandshakeStateKind.Zeroed, pair.Initiator.State);
        Assert.Equal(0u, pair.Initiator.PendingLocalIndex);
    }

    [Fact]
    public void TryCreateResponse_WithoutAcceptedInitiation_ReturnsFalse()
    {
        var pair = new TestPair();

        Assert.False(pair.Responder.TryCreateResponse(1, TestPair.Now0, new byte[MessageSize.Response], out _));
    }

    [Fact]
    public void TryCreateResponse_Twice_SecondReturnsFalse()
    {
        var pair = new TestPair();
        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        pair.CreateResponse(out _);

        Assert.False(pair.Responder.TryCreateResponse(1, TestPair.Now0, new byte[MessageSize.Response], out _));
    }

    [Fact]
    public void TryCreate_DestinationTooSmall_ReturnsFalseAndKeepsState()
    {
        var pair = new TestPair();
        Assert.False(pair.Initiator.TryCreateInitiation(1, TestPair.Wall0, TestPair.Now0, new byte[MessageSize.Initiation - 1]));
        Assert.Equal(HandshakeStateKind.Zeroed, pair.Initiator.State);

        Assert.True(pair.TryReceiveInitiation(pair.CreateInitiation(), TestPair.Now0));
        Assert.False(pair.Responder.TryCreateResponse(1, TestPair.Now0, new byte[MessageSize.Response - 1], out _));
        Assert.Equal(HandshakeStateKind.InitiationConsumed, pair.Responder.State);
    }

    [Fact]
    public void TryAccept_WhileOwnInitiationPending_ResponderRoleWins()
    {
        var pair = new TestPair();
        pair.CreateInitiation(index: 9);
        var theirs = new byte[MessageSize.Initiation];
        Assert.True(pair.Responder.TryCreateInitiation(10, TestPair.Wall0, TestPair.Now0, theirs));
        Assert.True(InitiationReader.TryConsume(pair.InitiatorIdentity, theirs, out var consumed));

        Assert.True(pair.Initiator.TryAccept(consumed!, TestPair.Now0));

        Assert.Equal(HandshakeStateKind.InitiationConsumed, pair.Initiator.State);
        Assert.Equal(0u, pair.Initiator.PendingLocalIndex);
    }

    [Fact]
    public void Clear_AfterInitiation_ZeroesButKeepsReplayProtection()
    {
        var pair = new TestPair();
        var initiation = pair.CreateInitiation();
        Assert.True(pair.TryReceiveInitiation(initiation, TestPair.Now0));
        pair.Initiator.Clear();
        pair.Responder.Clear();

        Assert.Equal(HandshakeStateKind.Zeroed, pair.Initiator.State);
        Assert.Equal(0u, pair.Initiator.PendingLocalIndex);
        Assert.False(pair.TryReceiveInitiation(initiation, TestPair.At(10)));
    }

    [Fact]
    public void Constructor_RemoteStaticIsLowOrderPoint_InitiationFails()
    {
        var local = new LocalIdentity(X25519Keys.GeneratePrivateKey());
        var handshake = new Handshake(local, new NodePublicKey(Key32.Zero), PresharedKey.None);

        Assert.False(handshake.TryCreateInitiation(1, TestPair.Wall0, TestPair.Now0, new byte[MessageSize.Initiation]));
    }

    [Fact]
    public void PublicKeyOf_GeneratedKey_MatchesLocalIdentity()
    {
        var key = X25519Keys.GeneratePrivateKey();
        Assert.Equal(X25519Keys.PublicKeyOf(key), new LocalIdentity(key).PublicKey);
    }
}
