using System.Buffers;
using System.Buffers.Binary;
using Meshwire.Core;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay.Tests;

public sealed class FrameReaderTests
{
    private static readonly NodePublicKey KeyA = new(Key32.FromSpan(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()));
    private static readonly NodePublicKey KeyB = new(Key32.FromSpan(Enumerable.Range(100, 32).Select(i => (byte)i).ToArray()));

    private static byte[] TwoFrames()
    {
        var buffer = new byte[200];
        var n = RelayFrames.WriteSendPacket(buffer, KeyA, [1, 2, 3, 4, 5]);
        n += RelayFrames.WritePing(buffer.AsSpan(n), FrameType.Ping, 0x0102030405060708);
        return buffer[..n];
    }

    [Fact]
    public void TryRead_EveryPrefixShorterThanFrame_NeedsMoreData()
    {
        var bytes = TwoFrames();
        var first = RelayFrames.SendPacketLength(5);
        for (var cut = 0; cut < first; cut++)
        {
            Assert.Equal(FrameReadStatus.NeedMoreData, FrameReader.TryRead(bytes.AsSpan(0, cut), out _, out _, out _));
        }
    }

    [Fact]
    public void TryRead_SequenceSplitAtEveryOffset_ReadsBothFrames()
    {
        var bytes = TwoFrames();
        for (var split = 0; split <= bytes.Length; split++)
        {
            var sequence = Segments(bytes, split);
            byte[]? scratch = null;
            Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(sequence, ref scratch, out var type, out var payload, out var consumed));
            Assert.Equal(FrameType.SendPacket, type);
            Assert.True(RelayFrames.TryParseKeyAndPacket(payload, out var to, out var packet));
            Assert.Equal(KeyA, to);
            Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, packet.ToArray());
            FrameReader.ReturnScratch(ref scratch);

            var rest = sequence.Slice(consumed);
            Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(rest, ref scratch, out type, out payload, out consumed));
            Assert.Equal(FrameType.Ping, type);
            Assert.True(RelayFrames.TryParsePing(payload, out var data));
            Assert.Equal(0x0102030405060708UL, data);
            Assert.Equal(rest.Length, consumed);
            FrameReader.ReturnScratch(ref scratch);
        }
    }

    [Fact]
    public void TryRead_SequenceTruncatedAtEveryOffset_NeedsMoreData()
    {
        var bytes = TwoFrames();
        var first = RelayFrames.SendPacketLength(5);
        for (var cut = 0; cut < first; cut++)
        {
            for (var split = 0; split <= cut; split++)
            {
                byte[]? scratch = null;
                Assert.Equal(FrameReadStatus.NeedMoreData, FrameReader.TryRead(Segments(bytes[..cut], split), ref scratch, out _, out _, out _));
                Assert.Null(scratch);
            }
        }
    }

    [Theory]
    [InlineData(RelayProtocol.MaxFramePayload + 1)]
    [InlineData(uint.MaxValue)]
    public void TryRead_LengthAboveMax_Oversize(uint length)
    {
        var header = new byte[RelayProtocol.FrameHeaderLength];
        header[0] = (byte)FrameType.SendPacket;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1), length);
        Assert.Equal(FrameReadStatus.Oversize, FrameReader.TryRead(header, out _, out _, out _));
        byte[]? scratch = null;
        Assert.Equal(FrameReadStatus.Oversize, FrameReader.TryRead(Segments(header, 2), ref scratch, out _, out _, out _));
    }

    [Fact]
    public void TryRead_MaxSizedForwardPacket_Reads()
    {
        var packet = new byte[RelayProtocol.MaxPacketSize];
        var buffer = new byte[RelayFrames.ForwardPacketLength(packet.Length)];
        RelayFrames.WriteForwardPacket(buffer, KeyA, KeyB, packet);
        Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(buffer, out var type, out var payload, out var consumed));
        Assert.Equal(FrameType.ForwardPacket, type);
        Assert.Equal(buffer.Length, consumed);
        Assert.True(RelayFrames.TryParseForwardPacket(payload, out var from, out var to, out var read));
        Assert.Equal((KeyA, KeyB, packet.Length), (from, to, read.Length));
    }

    [Fact]
    public void Frames_EachType_RoundTrip()
    {
        var buffer = new byte[256];
        var serverKey = new RelayPublicKey(KeyB.Value);
        var challenge = Enumerable.Repeat((byte)7, 32).ToArray();
        var n = RelayFrames.WriteServerKey(buffer, serverKey, challenge);
        Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(buffer.AsSpan(0, n), out var type, out var payload, out _));
        Assert.Equal(FrameType.ServerKey, type);
        Assert.True(RelayFrames.TryParseServerKey(payload, out var readKey, out var readChallenge));
        Assert.Equal(serverKey, readKey);
        Assert.Equal(challenge, readChallenge.ToArray());

        n = RelayFrames.WritePeerGone(buffer, KeyA, PeerGoneReason.NotHere);
        FrameReader.TryRead(buffer.AsSpan(0, n), out type, out payload, out _);
        Assert.True(RelayFrames.TryParsePeerGone(payload, out var gone, out var reason));
        Assert.Equal((FrameType.PeerGone, KeyA, PeerGoneReason.NotHere), (type, gone, reason));

        n = RelayFrames.WritePeerPresent(buffer, KeyB);
        FrameReader.TryRead(buffer.AsSpan(0, n), out type, out payload, out _);
        Assert.True(RelayFrames.TryParsePeerPresent(payload, out var present));
        Assert.Equal((FrameType.PeerPresent, KeyB), (type, present));

        n = RelayFrames.WriteServerInfo(buffer, 1000, 2000);
        FrameReader.TryRead(buffer.AsSpan(0, n), out type, out payload, out _);
        Assert.True(RelayFrames.TryParseServerInfo(payload, out var version, out var rate, out var burst));
        Assert.Equal((FrameType.ServerInfo, RelayProtocol.Version, 1000u, 2000u), (type, version, rate, burst));

        n = RelayFrames.WriteNotePreferred(buffer, true);
        FrameReader.TryRead(buffer.AsSpan(0, n), out type, out payload, out _);
        Assert.True(RelayFrames.TryParseNotePreferred(payload, out var preferred));
        Assert.True(preferred);

        n = RelayFrames.WriteEmpty(buffer, FrameType.KeepAlive);
        Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(buffer.AsSpan(0, n), out type, out payload, out _));
        Assert.Equal((FrameType.KeepAlive, 0), (type, payload.Length));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    public void TryParseKeyAndPacket_ShorterThanKey_False(int length) =>
        Assert.False(RelayFrames.TryParseKeyAndPacket(new byte[length], out _, out _));

    [Fact]
    public void TryParseServerKey_WrongMagic_False()
    {
        var payload = new byte[RelayProtocol.ServerKeyPayloadLength];
        Assert.False(RelayFrames.TryParseServerKey(payload, out _, out _));
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int split)
    {
        if (split <= 0 || split >= bytes.Length)
        {
            return new ReadOnlySequence<byte>(bytes);
        }

        var first = new Segment(bytes[..split], 0);
        var last = first.Append(bytes[split..]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
