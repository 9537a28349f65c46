using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.WireGuard.Protocol;
using Meshwire.WireGuard.Transport;
using Meshwire.Testing;

namespace Meshwire.WireGuard.Tests.Transport;

public sealed class KeypairTests
{
    private static readonly TimeSpan Now = UptimeClock.WeeksOfUptime;

    private static byte[] Packet(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + 7)).ToArray();

    private static (byte[] Datagram, int Length) SealPacket(Keypair sender, byte[] packet)
    {
        var datagram = new byte[TransportMessage.DatagramLength(packet.Length)];
        packet.CopyTo(datagram, TransportMessage.HeaderLength);
        Assert.True(sender.TryReserveSendCounter(out var counter));
        var length = sender.Seal(counter, datagram, packet.Length);
        return (datagram, length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(1420)]
    public void SealOpen_MirroredKeypairs_RoundTripsPaddedPlaintext(int packetLength)
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var packet = Packet(packetLength);

        var (datagram, length) = SealPacket(initiator, packet);

        Assert.Equal(TransportMessage.DatagramLength(packetLength), length);
        Assert.Equal(0, length % 16);
        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now, out var plaintextLength));
        Assert.Equal(TransportMessage.PaddedLength(packetLength), plaintextLength);
        Assert.Equal(packet, datagram.AsSpan(16, packetLength).ToArray());
        Assert.All(datagram.AsSpan(16 + packetLength, plaintextLength - packetLength).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Seal_Header_HasTypeReceiverAndLittleEndianCounter()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        var datagram = new byte[TransportMessage.DatagramLength(4)];

        initiator.Seal(0x0102030405060708, datagram, 4);

        Assert.Equal(new byte[] { 4, 0, 0, 0 }, datagram[..4]);
        Assert.Equal(KeypairFactory.ResponderIndex, BinaryPrimitives.ReadUInt32LittleEndian(datagram.AsSpan(4)));
        Assert.Equal(new byte[] { 8, 7, 6, 5, 4, 3, 2, 1 }, datagram[8..16]);
    }

    [Fact]
    public void SealOpen_Keepalive_HasZeroLengthPlaintext()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);

        var (datagram, length) = SealPacket(initiator, []);

        Assert.Equal(TransportMessage.MinimumLength, length);
        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now, out var plaintextLength));
        Assert.Equal(0, plaintextLength);
    }

    [Theory]
    [InlineData(8)]   // counter: changes the nonce
    [InlineData(16)]  // first ciphertext byte
    [InlineData(40)]  // last tag byte for a 9-byte packet (16 + 16 + 16 - 8)
    public void Open_TamperedByte_AuthenticationFailed(int offset)
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(9));
        datagram[offset] ^= 0x01;

        Assert.Equal(OpenStatus.AuthenticationFailed, responder.Open(datagram.AsSpan(0, length), Now, out var plaintextLength));
        Assert.Equal(0, plaintextLength);
    }

    [Fact]
    public void Open_TamperedThenGenuine_GenuineStillAccepted()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(20));
        var forged = (byte[])datagram.Clone();
        forged[20] ^= 0x80;

        Assert.Equal(OpenStatus.AuthenticationFailed, responder.Open(forged.AsSpan(0, length), Now, out _));
        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now, out _));
    }

    [Fact]
    public void Open_SameDatagramTwice_SecondIsReplayed()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(100));
        var copy = (byte[])datagram.Clone();

        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now, out _));
        Assert.Equal(OpenStatus.Replayed, responder.Open(copy.AsSpan(0, length), Now, out _));
    }

    [Fact]
    public void Open_WrongDirectionKey_AuthenticationFailed()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(10));

        // The initiator's receive key is the responder's send key, not its own send key.
        Assert.Equal(OpenStatus.AuthenticationFailed, initiator.Open(datagram.AsSpan(0, length), Now, out _));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(31)]
    public void Open_ShorterThanHeaderAndTag_TooShort(int length)
    {
        var (_, responder) = KeypairFactory.CreatePair(Now);
        Assert.Equal(OpenStatus.TooShort, responder.Open(new byte[length], Now, out _));
    }

    [Fact]
    public void Open_AtRejectAfterTime_Expired()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(10));

        Assert.Equal(OpenStatus.Expired, responder.Open(datagram.AsSpan(0, length), Now + WireGuardConstants.RejectAfterTime, out _));
        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now + WireGuardConstants.RejectAfterTime - TimeSpan.FromTicks(1), out _));
    }

    [Fact]
    public void IsExpired_BeforeAndAtRejectAfterTime()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        Assert.False(initiator.IsExpired(Now + TimeSpan.FromSeconds(179)));
        Assert.True(initiator.IsExpired(Now + TimeSpan.FromSeconds(180)));
    }

    [Fact]
    public void Open_DatagramBuiltWithSystemChaCha20Poly1305_Accepted()
    {
        // Known-answer style check of the wire format, built independently of Seal: header, nonce 0^32 || counter LE,
        // empty associated data, padded plaintext, tag appended.
        var (_, responder) = KeypairFactory.CreatePair(Now);
        const ulong counter = 0x1122334455667788;
        var packet = Packet(21);
        var padded = new byte[32];
        packet.CopyTo(padded, 0);

        var datagram = new byte[16 + 32 + 16];
        datagram[0] = 4;
        BinaryPrimitives.WriteUInt32LittleEndian(datagram.AsSpan(4), KeypairFactory.ResponderIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(datagram.AsSpan(8), counter);
        var nonce = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter);
        using (var aead = new ChaCha20Poly1305(KeypairFactory.KeyA.Span))
        {
            aead.Encrypt(nonce, padded, datagram.AsSpan(16, 32), datagram.AsSpan(48, 16));
        }

        Assert.Equal(OpenStatus.Ok, responder.Open(datagram, Now, out var plaintextLength));
        Assert.Equal(32, plaintextLength);
        Assert.Equal(padded, datagram[16..48]);
    }

    [Fact]
    public void Seal_Output_DecryptsWithSystemChaCha20Poly1305()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        var packet = Packet(5);
        var datagram = new byte[TransportMessage.DatagramLength(packet.Length)];
        packet.CopyTo(datagram, 16);
        const ulong counter = 42;

        var length = initiator.Seal(counter, datagram, packet.Length);

        var nonce = new byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(nonce.AsSpan(4), counter);
        var plaintext = new byte[16];
        using var aead = new ChaCha20Poly1305(KeypairFactory.KeyA.Span);
        aead.Decrypt(nonce, datagram.AsSpan(16, 16), datagram.AsSpan(32, 16), plaintext);
        Assert.Equal(48, length);
        Assert.Equal(packet, plaintext[..5]);
        Assert.All(plaintext[5..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Seal_FixedKeyCounterAndPacket_EqualsIndependentlyBuiltDatagram()
    {
        // The whole datagram, byte for byte, against one assembled by hand from the whitepaper's layout.
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        var datagram = new byte[TransportMessage.DatagramLength(3)];
        datagram[16] = 0x45;
        datagram[17] = 0x00;
        datagram[18] = 0x14;

        var length = initiator.Seal(7, datagram, 3);

        var expected = new byte[48];
        expected[0] = 4;
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(4), KeypairFactory.ResponderIndex);
        expected[8] = 7;
        var nonce = new byte[12];
        nonce[4] = 7;
        var plain = new byte[16];
        plain[0] = 0x45;
        plain[2] = 0x14;
        using var aead = new ChaCha20Poly1305(KeypairFactory.KeyA.Span);
        aead.Encrypt(nonce, plain, expected.AsSpan(16, 16), expected.AsSpan(32, 16));
        Assert.Equal(expected, datagram[..length]);
    }

    [Theory]
    [InlineData(1420, 1420, 1420)] // a full-size packet is not padded past the MTU
    [InlineData(1419, 1420, 1420)]
    [InlineData(1400, 1420, 1408)]
    [InlineData(0, 1420, 0)]
    [InlineData(1280, 1280, 1280)]
    public void Seal_WithMtu_PaddingCappedAtMtu(int packetLength, int mtu, int expectedPadded)
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var datagram = new byte[TransportMessage.DatagramLength(packetLength)];
        Packet(packetLength).CopyTo(datagram, 16);

        var length = initiator.Seal(3, datagram, packetLength, mtu);

        Assert.Equal(16 + expectedPadded + 16, length);
        Assert.Equal(OpenStatus.Ok, responder.Open(datagram.AsSpan(0, length), Now, out var plaintextLength));
        Assert.Equal(expectedPadded, plaintextLength);
    }

    [Fact]
    public void Seal_BufferTooSmall_Throws()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        Assert.Throws<ArgumentException>(() => initiator.Seal(0, new byte[16 + 16 + 15], 1));
    }

    [Fact]
    public void TryReserveSendCounter_Sequential_CountsUpFromZero()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        for (ulong i = 0; i < 5; i++)
        {
            Assert.True(initiator.TryReserveSendCounter(out var counter));
            Assert.Equal(i, counter);
        }

        Assert.Equal(5UL, initiator.SendCounterPeek);
    }

    [Fact]
    public void TryReserveSendCounter_AtRejectAfterMessages_FailsAndStaysPut()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        initiator.SetSendCounterForTesting(WireGuardConstants.RejectAfterMessages - 1);

        Assert.True(initiator.TryReserveSendCounter(out var last));
        Assert.Equal(WireGuardConstants.RejectAfterMessages - 1, last);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.False(initiator.TryReserveSendCounter(out _));
        }

        Assert.Equal(WireGuardConstants.RejectAfterMessages, initiator.SendCounterPeek);
    }

    [Fact]
    public void TryReserveSendCounter_ConcurrentThreads_NeverHandsOutACounterTwice()
    {
        var (initiator, _) = KeypairFactory.CreatePair(Now);
        const int threads = 4;
        const int each = 20_000;
        var seen = new ulong[threads][];
        Parallel.For(0, threads, t =>
        {
            seen[t] = new ulong[each];
            for (var i = 0; i < each; i++)
            {
                initiator.TryReserveSendCounter(out seen[t][i]);
            }
        });

        var all = seen.SelectMany(s => s).ToHashSet();
        Assert.Equal(threads * each, all.Count);
        Assert.Equal((ulong)(threads * each - 1), all.Max());
    }

    [Fact]
    public void SealOpen_ConcurrentThreads_AllAccepted()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var failures = 0;
        Parallel.For(0, 4, _ =>
        {
            var datagram = new byte[TransportMessage.DatagramLength(64)];
            for (var i = 0; i < 2_000; i++)
            {
                initiator.TryReserveSendCounter(out var counter);
                var length = initiator.Seal(counter, datagram, 64);
                if (responder.Open(datagram.AsSpan(0, length), Now, out _) != OpenStatus.Ok)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        Assert.Equal(0, failures);
    }

    [Fact]
    public void SealOpen_SteadyState_AllocatesNothing()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var datagram = new byte[TransportMessage.DatagramLength(1280)];

        void RoundTrip()
        {
            initiator.TryReserveSendCounter(out var counter);
            var length = initiator.Seal(counter, datagram, 1280);
            responder.Open(datagram.AsSpan(0, length), Now, out _);
        }

        for (var i = 0; i < 100; i++)
        {
            RoundTrip();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            RoundTrip();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void SealOpen_AfterDispose_FailCleanly()
    {
        var (initiator, responder) = KeypairFactory.CreatePair(Now);
        var (datagram, length) = SealPacket(initiator, Packet(10));
        initiator.Dispose();
        responder.Dispose();

        Assert.Equal(0, initiator.Seal(1, new byte[64], 10));
        Assert.Equal(OpenStatus.Expired, responder.Open(datagram.AsSpan(0, length), Now, out _));
    }

    [Fact]
    public void Seal_DisposedWhileSealersRun_EveryDatagramOpensOrIsRefused()
    {
        // A datagram sealed after the keys were erased would be sealed with an all-zero key: readable by anyone.
        // Every datagram a racing sealer got must open with the peer's genuine key, or have been refused (length 0).
        for (var round = 0; round < 50; round++)
        {
            var (initiator, responder) = KeypairFactory.CreatePair(Now);
            var sealedCount = 0;
            var failures = 0;
            using var start = new Barrier(3);
            var sealers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
            {
                var datagram = new byte[TransportMessage.DatagramLength(64)];
                start.SignalAndWait();
                for (var i = 0; i < 2000; i++)
                {
                    Packet(64).CopyTo(datagram, TransportMessage.HeaderLength);
                    if (!initiator.TryReserveSendCounter(out var counter))
                    {
                        break;
                    }

                    var length = initiator.Seal(counter, datagram, 64);
                    if (length == 0)
                    {
                        break;
                    }

                    Interlocked.Increment(ref sealedCount);
                    lock (responder)
                    {
                        if (responder.Open(datagram.AsSpan(0, length), Now, out _) != OpenStatus.Ok)
                        {
                            Interlocked.Increment(ref failures);
                        }
                    }
                }
            })).ToList();
            sealers.ForEach(t => t.Start());
            start.SignalAndWait();
            Thread.SpinWait(round * 200);
            initiator.Dispose();
            sealers.ForEach(t => t.Join());

            Assert.Equal(0, failures);
            Assert.Equal(0, initiator.Seal(0, new byte[TransportMessage.DatagramLength(64)], 64));
        }
    }

    [Fact]
    public void Create_ThousandsOfKeypairs_AddNoMemoryMappings()
    {
        // Keys in guarded allocations (an mmap with guard pages each) ran into vm.max_map_count with a few thousand
        // live sessions; keys now live in the keypair's own memory.
        static int Mappings() => File.ReadAllLines("/proc/self/maps").Length;
        _ = KeypairFactory.CreatePair(Now);
        var before = Mappings();

        var keypairs = Enumerable.Range(0, 2000).Select(_ => KeypairFactory.CreatePair(Now)).ToList();

        var added = Mappings() - before;
        Assert.True(added < 400, $"{keypairs.Count * 2} keypairs added {added} memory mappings (guarded keys: 8 each)");
        keypairs.ForEach(p => { p.Initiator.Dispose(); p.Responder.Dispose(); });
    }
}
