using Meshwire.WireGuard.Protocol;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Tests.Transport;

public sealed class ReplayWindowTests
{
    private const ulong W = ReplayWindow.WindowSize;

    [Fact]
    public void TryAccept_InOrder_AcceptsEach()
    {
        var window = new ReplayWindow();
        for (ulong i = 0; i < 20_000; i++)
        {
            Assert.True(window.TryAccept(i));
        }

        Assert.Equal(19_999UL, window.Highest);
    }

    [Fact]
    public void TryAccept_Duplicate_Rejected()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(0));
        Assert.False(window.TryAccept(0));
        Assert.True(window.TryAccept(5));
        Assert.False(window.TryAccept(5));
        Assert.True(window.TryAccept(3));
        Assert.False(window.TryAccept(3));
    }

    [Fact]
    public void TryAccept_OutOfOrderWithinWindow_AcceptsOnceEach()
    {
        var window = new ReplayWindow();
        ulong[] order = [10, 2, 7, 0, 1, 9, 3, 8, 4, 6, 5];
        foreach (var c in order)
        {
            Assert.True(window.TryAccept(c));
        }

        foreach (var c in order)
        {
            Assert.False(window.TryAccept(c));
        }
    }

    [Fact]
    public void TryAccept_ReorderedBy2048AndMore_Accepted()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(5000));
        Assert.True(window.TryAccept(5000 - 2048));
        Assert.True(window.TryAccept(5000 - 4096));
        Assert.True(window.TryAccept(0));
    }

    [Fact]
    public void TryAccept_AtWindowEdge_OldestInsideAcceptedNextOneRejected()
    {
        var window = new ReplayWindow();
        const ulong top = 100_000;
        Assert.True(window.TryAccept(top));
        Assert.True(window.TryAccept(top - W));
        Assert.False(window.TryAccept(top - W));
        Assert.False(window.TryAccept(top - W - 1));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(63UL)]
    [InlineData(64UL)]
    [InlineData(8191UL)]
    [InlineData(8192UL)]
    [InlineData(12345UL)]
    public void TryAccept_EveryOffsetBehindTop_AcceptedExactlyWhenInsideWindow(ulong top)
    {
        // Walk the edge bit by bit for several alignments of the top within its block.
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(top));
        for (ulong back = 1; back <= W + 70 && back <= top; back++)
        {
            Assert.Equal(back <= W, window.TryAccept(top - back));
        }
    }

    [Fact]
    public void TryAccept_TooOld_Rejected()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(W + 1000));
        Assert.False(window.TryAccept(0));
        Assert.False(window.TryAccept(999));
        Assert.True(window.TryAccept(1000));
    }

    [Fact]
    public void TryAccept_JumpFarAhead_OldRangeForgottenNewRangeClean()
    {
        var window = new ReplayWindow();
        for (ulong i = 0; i < 100; i++)
        {
            Assert.True(window.TryAccept(i));
        }

        const ulong far = 1UL << 40;
        Assert.True(window.TryAccept(far));
        Assert.False(window.TryAccept(99));

        // Counters just behind the jump share ring slots with the old range; they must not look seen.
        for (ulong back = 1; back <= 200; back++)
        {
            Assert.True(window.TryAccept(far - back));
        }
    }

    [Fact]
    public void TryAccept_JumpByLessThanRing_ClearsRecycledBlocks()
    {
        var window = new ReplayWindow();
        for (ulong i = 0; i < 8192; i++)
        {
            Assert.True(window.TryAccept(i));
        }

        // Jump by half a ring: slots of counters 0..4095 are reused by 8192..12287.
        Assert.True(window.TryAccept(12287));
        for (ulong c = 8192; c < 12287; c++)
        {
            Assert.True(window.TryAccept(c));
        }

        Assert.False(window.TryAccept(4095));
    }

    [Theory]
    [InlineData(WireGuardConstants.RejectAfterMessages)]
    [InlineData(ulong.MaxValue)]
    public void TryAccept_AtOrAboveRejectAfterMessages_Rejected(ulong counter)
    {
        var window = new ReplayWindow();
        Assert.False(window.TryAccept(counter));
        Assert.Null(window.Highest);
    }

    [Fact]
    public void TryAccept_LastValidCounter_Accepted()
    {
        var window = new ReplayWindow();
        Assert.True(window.TryAccept(WireGuardConstants.RejectAfterMessages - 1));
        Assert.False(window.TryAccept(WireGuardConstants.RejectAfterMessages - 1));
    }

    [Fact]
    public void TryAccept_RandomReorderAgainstSet_MatchesModel()
    {
        var window = new ReplayWindow();
        var rng = new Random(6479);
        var accepted = new HashSet<ulong>();
        ulong highest = 0;
        var any = false;
        for (var i = 0; i < 50_000; i++)
        {
            var c = (ulong)Math.Max(0, i + rng.Next(-9000, 200));
            var expected = !accepted.Contains(c) && (!any || c + W >= highest);
            Assert.Equal(expected, window.TryAccept(c));
            if (expected)
            {
                accepted.Add(c);
                highest = any ? Math.Max(highest, c) : c;
                any = true;
            }
        }
    }

    [Fact]
    public void TryAccept_ConcurrentThreadsSameCounters_EachAcceptedAtMostOnce()
    {
        var window = new ReplayWindow();
        const int count = 50_000;
        var accepts = new int[count];
        Parallel.For(0, 4, _ =>
        {
            for (var c = 0; c < count; c++)
            {
                if (window.TryAccept((ulong)c))
                {
                    Interlocked.Increment(ref accepts[c]);
                }
            }
        });

        // Threads race ahead of each other, so a counter may fall behind the window; none is accepted twice.
        Assert.All(accepts, a => Assert.InRange(a, 0, 1));
        Assert.Equal(1, accepts[count - 1]);
    }

    [Fact]
    public void TryAccept_SteadyState_AllocatesNothing()
    {
        var window = new ReplayWindow();
        window.TryAccept(0);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong c = 1; c < 10_000; c++)
        {
            window.TryAccept(c);
            window.TryAccept(c - 1);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
