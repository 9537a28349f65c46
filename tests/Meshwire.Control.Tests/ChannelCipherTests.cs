using System.Security.Cryptography;
using Meshwire.Control.Channel;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.Control.Tests;

public sealed class ChannelCipherTests
{
    [Theory]
    [InlineData(0, 0UL)]
    [InlineData(1, 1UL)]
    [InlineData(17, 42UL)]
    [InlineData(1000, 1UL << 40)]
    public void Seal_SameKeysAndCounter_BytesEqualDataPlaneKeypair(int plaintextLength, ulong counter)
    {
        var (a, b) = Sessions();
        using var cipher = new ChannelCipher(a);
        using var keypair = new Keypair(a, TimeSpan.Zero);
        var plaintext = RandomNumberGenerator.GetBytes(plaintextLength);
        var ours = new byte[TransportMessage.DatagramLength(plaintextLength)];
        var theirs = new byte[ours.Length];
        plaintext.CopyTo(ours, TransportMessage.HeaderLength);
        plaintext.CopyTo(theirs, TransportMessage.HeaderLength);

        Assert.Equal(keypair.Seal(counter, theirs, plaintextLength), cipher.Seal(counter, ours, plaintextLength));
        Assert.Equal(theirs, ours);

        using var peer = new ChannelCipher(b);
        Assert.Equal(OpenStatus.Ok, peer.Open(ours, TimeSpan.Zero, out var opened));
        Assert.Equal(plaintext, ours.AsSpan(TransportMessage.HeaderLength, plaintextLength).ToArray());
        Assert.Equal(TransportMessage.PaddedLength(plaintextLength), opened);
    }

    [Fact]
    public void Open_TamperedOrReplayed_Rejected()
    {
        var (a, b) = Sessions();
        using var sender = new ChannelCipher(a);
        using var receiver = new ChannelCipher(b);
        var datagram = new byte[TransportMessage.DatagramLength(8)];
        Assert.True(sender.TryReserveSendCounter(out var counter));
        var length = sender.Seal(counter, datagram, 8);
        var copy = datagram.ToArray();
        copy[20] ^= 1;
        Assert.Equal(OpenStatus.AuthenticationFailed, receiver.Open(copy, TimeSpan.Zero, out _));
        copy = datagram.ToArray();
        Assert.Equal(OpenStatus.Ok, receiver.Open(datagram.AsSpan(0, length), TimeSpan.Zero, out _));
        Assert.Equal(OpenStatus.Replayed, receiver.Open(copy, TimeSpan.Zero, out _));
        Assert.Equal(OpenStatus.Expired, receiver.Open(copy, TimeSpan.FromSeconds(180), out _));
    }

    private static (SessionKeys A, SessionKeys B) Sessions()
    {
        var k1 = Key32.FromSpan(RandomNumberGenerator.GetBytes(32));
        var k2 = Key32.FromSpan(RandomNumberGenerator.GetBytes(32));
        return (new SessionKeys(k1, k2, 7, 9, true), new SessionKeys(k2, k1, 9, 7, false));
    }
}
