using Meshwire.Core;
using Meshwire.Testing;
using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>The bounded handshake queue: FIFO, refuses when full, and measures load by its depth.</summary>
public sealed class HandshakeQueueTests
{
    private readonly UptimeClock _clock = new();

    private TimeSpan Now => _clock.Uptime;

    [Fact]
    public void TryEnqueue_Full_RefusesWithoutTouchingWhatIsQueued()
    {
        var queue = new HandshakeQueue(capacity: 16);
        for (var i = 0; i < 16; i++)
        {
            Assert.True(queue.TryEnqueue(Message(i), Source(i)));
        }

        Assert.False(queue.TryEnqueue(Message(99), Source(99)));
        Assert.Equal(16, queue.Count);
        var buffer = new byte[MessageSize.Initiation];
        Assert.True(queue.TryDequeue(buffer, out var length, out var source));
        Assert.Equal(Message(0), buffer[..length]);
        Assert.Equal(Source(0), source);
    }

    [Fact]
    public void TryDequeue_ManyTimesAroundTheRing_ReturnsMessagesInOrderWithTheirSources()
    {
        var queue = new HandshakeQueue(capacity: 8);
        var buffer = new byte[MessageSize.Initiation];
        var produced = 0;
        for (var consumed = 0; consumed < 100; consumed++)
        {
            // Keep a few in flight so head and tail wrap at different times.
            while (queue.Count < 5)
            {
                Assert.True(queue.TryEnqueue(Message(produced), Source(produced)));
                produced++;
            }

            Assert.True(queue.TryDequeue(buffer, out var length, out var source));
            Assert.Equal(Message(consumed), buffer[..length]);
            Assert.Equal(Source(consumed), source);
        }
    }

    [Fact]
    public void TryDequeue_Empty_False()
    {
        var queue = new HandshakeQueue(capacity: 8);

        Assert.False(queue.TryDequeue(new byte[MessageSize.Initiation], out var length, out _));
        Assert.Equal(0, length);
    }

    [Fact]
    public void TryEnqueue_LargerThanAnyHandshakeMessage_Refused()
    {
        var queue = new HandshakeQueue(capacity: 8);

        Assert.False(queue.TryEnqueue(new byte[MessageSize.Initiation + 1], Source(1)));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void IsUnderLoad_BelowAnEighthOfCapacity_False()
    {
        var queue = Filled(capacity: 64, count: 7);

        Assert.False(queue.IsUnderLoad(Now));
    }

    [Fact]
    public void IsUnderLoad_AtAnEighthOfCapacity_True()
    {
        var queue = Filled(capacity: 64, count: 8);

        Assert.True(queue.IsUnderLoad(Now));
    }

    [Fact]
    public void IsUnderLoad_AfterTheQueueDrains_LastsOneSecond()
    {
        var queue = Filled(capacity: 64, count: 8);
        Assert.True(queue.IsUnderLoad(Now));
        Drain(queue);

        _clock.Advance(HandshakeQueue.UnderLoadAfter - TimeSpan.FromMilliseconds(1));
        Assert.True(queue.IsUnderLoad(Now));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(queue.IsUnderLoad(Now));
    }

    [Fact]
    public void IsUnderLoad_DeepAgain_ExtendsTheSecond()
    {
        var queue = Filled(capacity: 64, count: 8);
        Assert.True(queue.IsUnderLoad(Now));
        _clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.True(queue.IsUnderLoad(Now));
        Drain(queue);

        _clock.Advance(TimeSpan.FromMilliseconds(900));

        Assert.True(queue.IsUnderLoad(Now));
    }

    [Fact]
    public void IsUnderLoad_NeverLoaded_FalseAtAnyUptime()
    {
        foreach (var boundary in UptimeClock.Boundaries)
        {
            var clock = new UptimeClock(boundary);
            Assert.False(new HandshakeQueue(capacity: 64).IsUnderLoad(clock.Uptime));
        }
    }

    private static HandshakeQueue Filled(int capacity, int count)
    {
        var queue = new HandshakeQueue(capacity);
        for (var i = 0; i < count; i++)
        {
            Assert.True(queue.TryEnqueue(Message(i), Source(i)));
        }

        return queue;
    }

    private static void Drain(HandshakeQueue queue)
    {
        var buffer = new byte[MessageSize.Initiation];
        while (queue.TryDequeue(buffer, out _, out _))
        {
        }
    }

    /// <summary>Messages of three lengths (64, 78, 92 bytes), every byte but the first holding a tag of <paramref name="i"/>.</summary>
    private static byte[] Message(int i)
    {
        var message = new byte[MessageSize.CookieReply + (i % 3 * 14)];
        message.AsSpan().Fill((byte)(i * 7));
        message[0] = MessageType.CookieReply;
        return message;
    }

    private static EndpointAddress Source(int i) => EndpointAddress.FromBytes([192, 0, 2, (byte)i], (ushort)(1000 + i));
}
