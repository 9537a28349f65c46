using System.Buffers.Binary;
using Meshwire.Core;
using Meshwire.Paths.Disco;
using Meshwire.Relay.Stun;

namespace Meshwire.Paths.Tests.Disco;

public sealed class DiscoWireTests : IDisposable
{
    private const long UnixMs = 1_760_000_000_123;
    private readonly DiscoPrivateKey _alicePrivate = DiscoKeys.Generate();
    private readonly DiscoPrivateKey _bobPrivate = DiscoKeys.Generate();
    private readonly DiscoBox _aliceToBob;
    private readonly DiscoBox _bobFromAlice;

    public DiscoWireTests()
    {
        _aliceToBob = DiscoBox.TryCreate(_alicePrivate, DiscoKeys.PublicKeyOf(_bobPrivate))!;
        _bobFromAlice = DiscoBox.TryCreate(_bobPrivate, DiscoKeys.PublicKeyOf(_alicePrivate))!;
    }

    public void Dispose()
    {
        _aliceToBob.Dispose();
        _bobFromAlice.Dispose();
    }

    public static TheoryData<string> Messages => new() { "ping", "pong-v4", "pong-v6", "cmm-0", "cmm-3", "cmm-max" };

    [Theory]
    [MemberData(nameof(Messages))]
    public void TryRead_WhatTryWriteSealed_RoundTrips(string name)
    {
        var message = Sample(name);
        var datagram = Seal(message);

        Assert.Equal(DiscoReadStatus.Ok, DiscoWire.TryRead(datagram, _bobFromAlice, out var read));
        Assert.Equal(message.Type, read.Type);
        Assert.Equal(message.UnixMs, read.UnixMs);
        Assert.Equal(message.TxId, read.TxId);
        Assert.Equal(message.NodeKey, read.NodeKey);
        Assert.Equal(message.Source, read.Source);
        Assert.Equal(message.Endpoints.ToArray(), read.Endpoints.ToArray());
    }

    [Fact]
    public void TryWrite_Ping_HasDocumentedLayout()
    {
        var datagram = Seal(Sample("ping"));

        Assert.Equal(DiscoConstants.HeaderLength + DiscoConstants.PingPayloadLength + DiscoConstants.TagLength, datagram.Length);
        Assert.Equal(62 + 54 + 16, datagram.Length);
        Assert.Equal("MWDISC"u8.ToArray(), datagram[..6]);
        Assert.Equal(DiscoKeys.PublicKeyOf(_alicePrivate).Value.Span.ToArray(), datagram[6..38]);
        Assert.True(DiscoWire.TryReadSender(datagram, out var sender));
        Assert.Equal(DiscoKeys.PublicKeyOf(_alicePrivate), sender);
    }

    [Fact]
    public void Constants_MessageSizes_MatchTheDocumentedLayout()
    {
        Assert.Equal(62, DiscoConstants.HeaderLength);
        Assert.Equal(89, DiscoConstants.MinMessageLength);
        Assert.Equal(377, DiscoConstants.MaxMessageLength);
        Assert.Equal(118, DiscoWire.LengthOf(Sample("pong-v6")));
    }

    [Fact]
    public void TryWrite_SameMessageTwice_UsesFreshNonces()
    {
        var message = Sample("ping");
        var first = Seal(message);
        var second = Seal(message);

        Assert.NotEqual(DiscoWire.NonceOf(first).ToArray(), DiscoWire.NonceOf(second).ToArray());
    }

    [Fact]
    public void TryWrite_LargestMessage_FitsMaxMessageLength()
    {
        var message = Sample("cmm-max");

        Assert.Equal(DiscoConstants.MaxMessageLength, DiscoWire.LengthOf(message));
        Assert.Equal(DiscoConstants.MaxMessageLength, Seal(message).Length);
        Assert.False(DiscoWire.TryWrite(message, _aliceToBob, new byte[DiscoConstants.MaxMessageLength - 1], out _));
    }

    [Fact]
    public void CallMeMaybe_MoreEndpointsThanTheLimit_KeepsTheFirst()
    {
        var many = Enumerable.Range(1, 40).Select(i => TestKeys.V4($"10.0.0.{i}:4000")).ToArray();

        var message = DiscoMessage.CallMeMaybe(many, UnixMs);

        Assert.Equal(many[..DiscoConstants.MaxCallMeMaybeEndpoints], message.Endpoints.ToArray());
    }

    [Theory]
    [MemberData(nameof(Messages))]
    public void TryRead_EveryTruncation_IsNotOk(string name)
    {
        var datagram = Seal(Sample(name));
        for (var length = 0; length < datagram.Length; length++)
        {
            Assert.NotEqual(DiscoReadStatus.Ok, DiscoWire.TryRead(datagram.AsSpan(0, length), _bobFromAlice, out _));
        }
    }

    [Fact]
    public void TryRead_TruncationsThatKeepTheMagic_AreStillRecognisedAsDisco()
    {
        var datagram = Seal(Sample("ping"));
        for (var length = DiscoConstants.MagicLength; length < datagram.Length; length++)
        {
            Assert.True(DiscoWire.IsDiscoMessage(datagram.AsSpan(0, length)));
        }

        Assert.Equal(DiscoReadStatus.Truncated, DiscoWire.TryRead(datagram.AsSpan(0, DiscoConstants.MinMessageLength - 1), _bobFromAlice, out _));
    }

    [Fact]
    public void TryRead_Oversize_IsRejectedBeforeDecryption()
    {
        var datagram = Seal(Sample("cmm-max"));
        var longer = datagram.Concat(new byte[1]).ToArray();

        Assert.Equal(DiscoReadStatus.Oversize, DiscoWire.TryRead(longer, _bobFromAlice, out _));
    }

    [Fact]
    public void TryRead_TrailingByteWithinMaxLength_IsForged()
    {
        var datagram = Seal(Sample("ping")).Concat(new byte[1]).ToArray();

        Assert.Equal(DiscoReadStatus.Forged, DiscoWire.TryRead(datagram, _bobFromAlice, out _));
    }

    [Fact]
    public void TryRead_AnySingleBitFlipped_IsNotOk()
    {
        var datagram = Seal(Sample("pong-v4"));
        for (var bit = 0; bit < datagram.Length * 8; bit++)
        {
            var copy = (byte[])datagram.Clone();
            copy[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(DiscoReadStatus.Ok, DiscoWire.TryRead(copy, _bobFromAlice, out _));
        }
    }

    [Fact]
    public void TryRead_SealedByAnotherSenderUnderTheSameHeader_IsForged()
    {
        var mallory = DiscoKeys.Generate();
        using var malloryToBob = DiscoBox.TryCreate(mallory, DiscoKeys.PublicKeyOf(_bobPrivate))!;
        var datagram = new byte[DiscoConstants.MaxMessageLength];
        DiscoWire.TryWrite(Sample("ping"), malloryToBob, datagram, out var written);
        datagram = datagram[..written];
        DiscoKeys.PublicKeyOf(_alicePrivate).Value.CopyTo(datagram.AsSpan(6));

        Assert.Equal(DiscoReadStatus.Forged, DiscoWire.TryRead(datagram, _bobFromAlice, out _));
    }

    [Fact]
    public void TryRead_OpenedWithTheBoxOfAnotherSender_IsWrongSender()
    {
        using var bobFromCarol = DiscoBox.TryCreate(_bobPrivate, DiscoKeys.PublicKeyOf(DiscoKeys.Generate()))!;

        Assert.Equal(DiscoReadStatus.WrongSender, DiscoWire.TryRead(Seal(Sample("ping")), bobFromCarol, out _));
    }

    [Fact]
    public void TryRead_AtAnotherReceiver_IsForged()
    {
        var carol = DiscoKeys.Generate();
        using var carolFromAlice = DiscoBox.TryCreate(carol, DiscoKeys.PublicKeyOf(_alicePrivate))!;

        Assert.Equal(DiscoReadStatus.Forged, DiscoWire.TryRead(Seal(Sample("ping")), carolFromAlice, out _));
    }

    [Fact]
    public void TryRead_ReflectedBackToItsSender_IsForged()
    {
        using var aliceFromBob = DiscoBox.TryCreate(_alicePrivate, DiscoKeys.PublicKeyOf(_bobPrivate))!;
        var datagram = Seal(Sample("ping"));
        DiscoKeys.PublicKeyOf(_bobPrivate).Value.CopyTo(datagram.AsSpan(6));

        Assert.Equal(DiscoReadStatus.Forged, DiscoWire.TryRead(datagram, aliceFromBob, out _));
    }

    [Theory]
    [InlineData(2, 1, DiscoConstants.PingPayloadLength, DiscoReadStatus.UnsupportedVersion)]
    [InlineData(9, 1, DiscoConstants.PingPayloadLength, DiscoReadStatus.Malformed)]
    [InlineData(1, 1, DiscoConstants.PingPayloadLength - 1, DiscoReadStatus.Malformed)]
    [InlineData(2, 1, DiscoConstants.PongPayloadLength + 1, DiscoReadStatus.Malformed)]
    [InlineData(3, 1, DiscoConstants.MinCallMeMaybePayloadLength + 5, DiscoReadStatus.Malformed)]
    public void TryRead_WellSealedButMalformedPayload_IsRejected(int type, int countOrVersionBump, int length, DiscoReadStatus expected)
    {
        var plaintext = new byte[length];
        plaintext[0] = (byte)type;
        plaintext[1] = expected == DiscoReadStatus.UnsupportedVersion ? (byte)(DiscoConstants.Version + countOrVersionBump) : DiscoConstants.Version;
        if (type == 3)
        {
            plaintext[DiscoConstants.PayloadHeaderLength] = (byte)countOrVersionBump;
        }

        Assert.Equal(expected, DiscoWire.TryRead(SealRaw(plaintext), _bobFromAlice, out _));
    }

    [Fact]
    public void TryRead_CallMeMaybeClaimingMoreThanTheLimit_IsMalformed()
    {
        // As long as the largest message allowed, but claiming one endpoint more than it can hold.
        var plaintext = new byte[DiscoConstants.MaxCallMeMaybePayloadLength];
        plaintext[0] = 3;
        plaintext[1] = DiscoConstants.Version;
        plaintext[DiscoConstants.PayloadHeaderLength] = DiscoConstants.MaxCallMeMaybeEndpoints + 1;

        Assert.Equal(DiscoReadStatus.Malformed, DiscoWire.TryRead(SealRaw(plaintext), _bobFromAlice, out _));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void IsDiscoMessage_WireGuardMessage_IsFalse(byte type)
    {
        var wireGuard = new byte[148];
        wireGuard[0] = type;

        Assert.False(DiscoWire.IsDiscoMessage(wireGuard));
    }

    [Fact]
    public void IsDiscoMessage_StunBindingRequest_IsFalseAndDiscoIsNotStun()
    {
        var stun = new byte[StunMessage.HeaderLength + 8];
        StunMessage.WriteBindingRequest(stun, StunTransactionId.NewRandom());
        var disco = Seal(Sample("ping"));

        Assert.False(DiscoWire.IsDiscoMessage(stun));
        Assert.False(StunMessage.LooksLikeStun(disco));
        Assert.NotEqual(0, disco[0] & 0xC0);
        Assert.False(disco[0] is >= 1 and <= 4);
    }

    [Fact]
    public void DiscoBox_LowOrderRemoteKey_IsRefused()
    {
        Assert.Null(DiscoBox.TryCreate(_alicePrivate, new DiscoPublicKey(Key32.Zero)));
    }

    [Fact]
    public void TryWrite_Datagram_OpensWithTheDocumentedKeyDerivationInNSec()
    {
        // docs/discovery.md's construction computed independently: X25519, HKDF-SHA256 with the label and both public
        // keys (sender first), XChaCha20-Poly1305 over bytes 62.. with bytes 0..37 as associated data.
        var datagram = Seal(Sample("cmm-3"));
        using var bob = NSec.Cryptography.Key.Import(NSec.Cryptography.KeyAgreementAlgorithm.X25519, _bobPrivate.Value.Span, NSec.Cryptography.KeyBlobFormat.RawPrivateKey);
        var alicePublic = NSec.Cryptography.PublicKey.Import(NSec.Cryptography.KeyAgreementAlgorithm.X25519, DiscoKeys.PublicKeyOf(_alicePrivate).Value.Span, NSec.Cryptography.KeyBlobFormat.RawPublicKey);
        using var shared = NSec.Cryptography.KeyAgreementAlgorithm.X25519.Agree(bob, alicePublic)!;
        var info = DiscoConstants.KdfLabel.ToArray().Concat(DiscoKeys.PublicKeyOf(_alicePrivate).Value.Span.ToArray()).Concat(DiscoKeys.PublicKeyOf(_bobPrivate).Value.Span.ToArray()).ToArray();
        using var key = NSec.Cryptography.KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, default, info, NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305);

        var plaintext = NSec.Cryptography.AeadAlgorithm.XChaCha20Poly1305.Decrypt(key, datagram.AsSpan(38, 24), datagram.AsSpan(0, 38), datagram.AsSpan(62));

        Assert.NotNull(plaintext);
        Assert.Equal(3, plaintext![0]);
    }

    [Fact]
    public void TryRead_AfterTheBoxWasDisposed_Forged()
    {
        var datagram = Seal(Sample("ping"));
        var bob = DiscoBox.TryCreate(_bobPrivate, DiscoKeys.PublicKeyOf(_alicePrivate))!;
        bob.Dispose();

        Assert.Equal(DiscoReadStatus.Forged, DiscoWire.TryRead(datagram, bob, out _));
    }

    [Fact]
    public void TryCreate_ThousandsOfBoxes_AddNoMemoryMappings()
    {
        // One box per peer of the netmap: guarded key allocations (an mmap with guard pages each) would exhaust
        // vm.max_map_count in a tailnet of some thousands of nodes.
        static int Mappings() => File.ReadAllLines("/proc/self/maps").Length;
        var peers = Enumerable.Range(0, 2000).Select(_ => DiscoKeys.PublicKeyOf(DiscoKeys.Generate())).ToList();
        DiscoBox.TryCreate(_alicePrivate, peers[0])!.Dispose();
        var before = Mappings();

        var boxes = peers.Select(p => DiscoBox.TryCreate(_alicePrivate, p)!).ToList();

        var added = Mappings() - before;
        Assert.True(added < 200, $"{boxes.Count} boxes added {added} memory mappings");
        boxes.ForEach(b => b.Dispose());
    }

    private byte[] Seal(in DiscoMessage message)
    {
        var buffer = new byte[DiscoConstants.MaxMessageLength];
        Assert.True(DiscoWire.TryWrite(message, _aliceToBob, buffer, out var written));
        return buffer[..written];
    }

    /// <summary>Seals an arbitrary plaintext with the right keys, to test the payload checks behind the tag.</summary>
    private byte[] SealRaw(byte[] plaintext)
    {
        var datagram = new byte[DiscoConstants.HeaderLength + plaintext.Length + DiscoConstants.TagLength];
        DiscoConstants.Magic.CopyTo(datagram);
        _aliceToBob.Local.Value.CopyTo(datagram.AsSpan(6));
        var nonce = datagram.AsSpan(38, 24);
        System.Security.Cryptography.RandomNumberGenerator.Fill(nonce);
        _aliceToBob.Seal(nonce, datagram.AsSpan(0, 38), plaintext, datagram.AsSpan(62));
        return datagram;
    }

    private static DiscoMessage Sample(string name) => name switch
    {
        "ping" => DiscoMessage.Ping(DiscoTxId.NewRandom(), TestKeys.NodeKey(), UnixMs),
        "pong-v4" => DiscoMessage.Pong(DiscoTxId.NewRandom(), TestKeys.V4("203.0.113.7:41641"), UnixMs),
        "pong-v6" => DiscoMessage.Pong(DiscoTxId.NewRandom(), TestKeys.V4("[2001:db8::1]:41641"), UnixMs),
        "cmm-0" => DiscoMessage.CallMeMaybe([], UnixMs),
        "cmm-3" => DiscoMessage.CallMeMaybe([TestKeys.V4("192.168.1.2:41641"), TestKeys.V4("203.0.113.7:41641"), TestKeys.V4("[2001:db8::2]:1")], UnixMs),
        _ => DiscoMessage.CallMeMaybe(Enumerable.Range(1, DiscoConstants.MaxCallMeMaybeEndpoints).Select(i => TestKeys.V4($"[2001:db8::{i}]:{i}")).ToArray(), UnixMs),
    };

    [Fact]
    public void Payload_TimestampIsBigEndianUnixMilliseconds()
    {
        var plaintext = new byte[DiscoConstants.PingPayloadLength];
        DiscoPayload.Write(Sample("ping"), plaintext);

        Assert.Equal(UnixMs, BinaryPrimitives.ReadInt64BigEndian(plaintext.AsSpan(2)));
        Assert.Equal(1, plaintext[0]);
        Assert.Equal(DiscoConstants.Version, plaintext[1]);
    }
}
