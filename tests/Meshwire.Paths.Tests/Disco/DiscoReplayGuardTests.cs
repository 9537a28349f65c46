using System.Security.Cryptography;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.Tests.Disco;

public sealed class DiscoReplayGuardTests
{
    private const long Now = 1_760_000_000_000;

    [Fact]
    public void Check_NewNonceWithinWindow_IsFresh()
    {
        Assert.Equal(DiscoReplayVerdict.Fresh, new DiscoReplayGuard().Check(Nonce(), Now - 1000, Now));
    }

    [Fact]
    public void Check_SameNonceTwice_IsReplayed()
    {
        var guard = new DiscoReplayGuard();
        var nonce = Nonce();

        Assert.Equal(DiscoReplayVerdict.Fresh, guard.Check(nonce, Now, Now));
        Assert.Equal(DiscoReplayVerdict.Replayed, guard.Check(nonce, Now, Now + 10_000));
    }

    [Theory]
    [InlineData(-60_001, "Stale")]
    [InlineData(-60_000, "Fresh")]
    [InlineData(30_000, "Fresh")]
    [InlineData(30_001, "Future")]
    public void Check_TimestampAtTheWindowEdges_IsJudgedByTheWindow(long offsetMs, string expected)
    {
        Assert.Equal(Enum.Parse<DiscoReplayVerdict>(expected), new DiscoReplayGuard().Check(Nonce(), Now + offsetMs, Now));
    }

    [Fact]
    public void Check_ReplayAfterTheWindow_IsStale()
    {
        var guard = new DiscoReplayGuard();
        var nonce = Nonce();
        guard.Check(nonce, Now, Now);

        Assert.Equal(DiscoReplayVerdict.Stale, guard.Check(nonce, Now, Now + 61_000));
    }

    [Fact]
    public void Check_MemoryFull_ForgetsOldestAndRejectsAnythingNotNewerThanIt()
    {
        var guard = new DiscoReplayGuard();
        var first = Nonce();
        guard.Check(first, Now, Now);
        for (var i = 1; i < DiscoConstants.ReplayNoncesPerSender; i++)
        {
            Assert.Equal(DiscoReplayVerdict.Fresh, guard.Check(Nonce(), Now + i, Now + i));
        }

        Assert.Equal(DiscoReplayVerdict.Fresh, guard.Check(Nonce(), Now + 500, Now + 500));
        Assert.Equal(DiscoConstants.ReplayNoncesPerSender, guard.Count);
        Assert.Equal(DiscoReplayVerdict.Stale, guard.Check(first, Now, Now + 500));
        Assert.Equal(DiscoReplayVerdict.Stale, guard.Check(Nonce(), Now, Now + 500));
        Assert.Equal(DiscoReplayVerdict.Fresh, guard.Check(Nonce(), Now + 501, Now + 501));
    }

    [Fact]
    public void Check_OldEntries_LeaveTheMemoryWithTheWindow()
    {
        var guard = new DiscoReplayGuard();
        for (var i = 0; i < 10; i++)
        {
            guard.Check(Nonce(), Now, Now);
        }

        guard.Check(Nonce(), Now + 70_000, Now + 70_000);

        Assert.Equal(1, guard.Count);
    }

    private static byte[] Nonce() => RandomNumberGenerator.GetBytes(DiscoConstants.NonceLength);
}
