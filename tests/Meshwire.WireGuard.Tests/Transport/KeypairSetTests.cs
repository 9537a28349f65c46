using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Tests.Transport;

public sealed class KeypairSetTests
{
    private readonly List<Keypair> _dropped = [];

    [Fact]
    public void InstallAsInitiator_Empty_BecomesCurrent()
    {
        var set = new KeypairSet();
        var k1 = KeypairFactory.Create(1);

        set.InstallAsInitiator(k1, _dropped);

        Assert.Same(k1, set.Current);
        Assert.Null(set.Previous);
        Assert.Null(set.Next);
        Assert.Empty(_dropped);
    }

    [Fact]
    public void InstallAsInitiator_Twice_OldCurrentBecomesPrevious()
    {
        var set = new KeypairSet();
        var k1 = KeypairFactory.Create(1);
        var k2 = KeypairFactory.Create(2);

        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);

        Assert.Same(k2, set.Current);
        Assert.Same(k1, set.Previous);
        Assert.Empty(_dropped);
    }

    [Fact]
    public void InstallAsInitiator_ThreeTimes_DropsOldestPrevious()
    {
        var set = new KeypairSet();
        var (k1, k2, k3) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3));

        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);
        set.InstallAsInitiator(k3, _dropped);

        Assert.Same(k3, set.Current);
        Assert.Same(k2, set.Previous);
        Assert.Equal([k1], _dropped);
    }

    [Fact]
    public void InstallAsInitiator_WithPendingNext_NextBecomesPreviousCurrentDropped()
    {
        var set = new KeypairSet();
        var (k1, k2, k3, k4) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false), KeypairFactory.Create(4));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);
        set.InstallAsResponder(k3, _dropped);
        _dropped.Clear();

        set.InstallAsInitiator(k4, _dropped);

        Assert.Same(k4, set.Current);
        Assert.Same(k3, set.Previous);
        Assert.Null(set.Next);
        Assert.Equal([k2], _dropped);
    }

    [Fact]
    public void InstallAsResponder_KeepsCurrentUntilConfirmed()
    {
        var set = new KeypairSet();
        var (k1, k2) = (KeypairFactory.Create(1), KeypairFactory.Create(2, false));
        set.InstallAsInitiator(k1, _dropped);

        set.InstallAsResponder(k2, _dropped);

        Assert.Same(k1, set.Current);
        Assert.Same(k2, set.Next);
        Assert.Empty(_dropped);
    }

    [Fact]
    public void InstallAsResponder_DropsPreviousAndReplacesNext()
    {
        var set = new KeypairSet();
        var (k1, k2, k3, k4) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false), KeypairFactory.Create(4, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);

        set.InstallAsResponder(k3, _dropped);
        Assert.Equal([k1], _dropped);
        Assert.Null(set.Previous);

        set.InstallAsResponder(k4, _dropped);
        Assert.Equal([k1, k3], _dropped);
        Assert.Same(k2, set.Current);
        Assert.Same(k4, set.Next);
    }

    [Fact]
    public void ConfirmNext_WithNext_Rotates()
    {
        var set = new KeypairSet();
        var (k1, k2) = (KeypairFactory.Create(1), KeypairFactory.Create(2, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsResponder(k2, _dropped);

        Assert.True(set.ConfirmNext(k2, _dropped));

        Assert.Same(k2, set.Current);
        Assert.Same(k1, set.Previous);
        Assert.Null(set.Next);
        Assert.Empty(_dropped);
    }

    [Fact]
    public void ConfirmNext_FirstResponderSession_BecomesCurrent()
    {
        var set = new KeypairSet();
        var k1 = KeypairFactory.Create(1, false);
        set.InstallAsResponder(k1, _dropped);
        Assert.Null(set.Current);

        Assert.True(set.ConfirmNext(k1, _dropped));

        Assert.Same(k1, set.Current);
        Assert.Null(set.Previous);
    }

    [Fact]
    public void ConfirmNext_CurrentOrPrevious_DoesNothing()
    {
        var set = new KeypairSet();
        var (k1, k2, k3) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);

        Assert.False(set.ConfirmNext(k2, _dropped));
        Assert.False(set.ConfirmNext(k1, _dropped));
        Assert.False(set.ConfirmNext(k3, _dropped));
        Assert.Same(k2, set.Current);
        Assert.Same(k1, set.Previous);
    }

    [Fact]
    public void ConfirmNext_Twice_RotatesOnce()
    {
        var set = new KeypairSet();
        var (k1, k2) = (KeypairFactory.Create(1), KeypairFactory.Create(2, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsResponder(k2, _dropped);

        Assert.True(set.ConfirmNext(k2, _dropped));
        Assert.False(set.ConfirmNext(k2, _dropped));
        Assert.Same(k1, set.Previous);
    }

    [Fact]
    public void ConfirmNext_WithPrevious_DropsIt()
    {
        var set = new KeypairSet();
        var (k1, k2, k3) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);
        set.InstallAsResponder(k3, _dropped); // drops k1 already
        set.ConfirmNext(k3, _dropped);

        Assert.Equal([k1], _dropped);
        Assert.Same(k3, set.Current);
        Assert.Same(k2, set.Previous);
    }

    [Fact]
    public void Clear_DropsAllThree()
    {
        var set = new KeypairSet();
        var (k1, k2, k3) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);
        set.InstallAsResponder(k3, _dropped);
        _dropped.Clear();
        set.InstallAsInitiator(k1, _dropped);
        _dropped.Clear();

        set.Clear(_dropped);

        Assert.Null(set.Current);
        Assert.Null(set.Previous);
        Assert.Null(set.Next);
        Assert.Equal(2, _dropped.Count);
    }

    [Fact]
    public void FindByLocalIndex_EachSlot_Found()
    {
        var set = new KeypairSet();
        var (k1, k2, k3) = (KeypairFactory.Create(1), KeypairFactory.Create(2), KeypairFactory.Create(3, false));
        set.InstallAsInitiator(k1, _dropped);
        set.InstallAsInitiator(k2, _dropped);
        Assert.Same(k1, set.FindByLocalIndex(1));
        Assert.Same(k2, set.FindByLocalIndex(2));

        set.InstallAsResponder(k3, _dropped);
        Assert.Same(k3, set.FindByLocalIndex(3));
        Assert.Null(set.FindByLocalIndex(1));
        Assert.Null(set.FindByLocalIndex(99));
    }
}
