using Meshwire.WireGuard.Protocol;
using Meshwire.WireGuard.Tests.Transport;
using Meshwire.WireGuard.Timers;
using Meshwire.Testing;

namespace Meshwire.WireGuard.Tests.Timers;

public sealed class PeerTimersTests
{
    private static readonly TimeSpan T0 = UptimeClock.WeeksOfUptime;

    /// <summary>Jitter pinned to a fixed number of milliseconds.</summary>
    private sealed class FixedJitter(int milliseconds) : Random
    {
        public override int Next(int maxValue) => Math.Min(milliseconds, maxValue - 1);
    }

    private static TimeSpan S(double seconds) => T0 + TimeSpan.FromSeconds(seconds);

    private static PeerTimers NoJitter() => new(new FixedJitter(0));

    /// <summary>Fires every deadline up to <paramref name="until"/> in order, as a driver would.</summary>
    private static List<(TimeSpan At, TimerActions Actions)> RunUntil(PeerTimers timers, TimeSpan until, Action<TimeSpan, TimerActions>? react = null)
    {
        var log = new List<(TimeSpan, TimerActions)>();
        while (timers.NextDeadline is { } deadline && deadline <= until)
        {
            var actions = timers.Poll(deadline);
            if (actions != TimerActions.None)
            {
                log.Add((deadline, actions));
                react?.Invoke(deadline, actions);
            }
        }

        return log;
    }

    [Fact]
    public void NextDeadline_Fresh_Null()
    {
        var timers = NoJitter();
        Assert.Null(timers.NextDeadline);
        Assert.Equal(TimerActions.None, timers.Poll(S(1_000_000)));
    }

    [Fact]
    public void OnDataReceived_NothingSent_KeepaliveAfterKeepaliveTimeout()
    {
        var timers = NoJitter();
        timers.OnDataReceived(S(0));

        Assert.Equal(S(10), timers.NextDeadline);
        Assert.Equal(TimerActions.None, timers.Poll(S(9.999)));
        Assert.Equal(TimerActions.SendKeepalive, timers.Poll(S(10)));
        Assert.Null(timers.NextDeadline);
    }

    [Fact]
    public void OnDataReceived_ThenSomethingSent_NoKeepalive()
    {
        var timers = NoJitter();
        timers.OnDataReceived(S(0));
        timers.OnAnyAuthenticatedPacketSent(S(3));

        Assert.Equal(TimerActions.None, timers.Poll(S(20)));
    }

    [Fact]
    public void OnDataReceived_AgainWhileArmed_DeadlineNotPushedButAnotherKeepaliveOwed()
    {
        var timers = NoJitter();
        timers.OnDataReceived(S(0));
        timers.OnDataReceived(S(6));

        Assert.Equal(S(10), timers.NextDeadline);
        Assert.Equal(TimerActions.SendKeepalive, timers.Poll(S(10)));
        Assert.Equal(S(20), timers.NextDeadline);
        Assert.Equal(TimerActions.SendKeepalive, timers.Poll(S(20)));
        Assert.Null(timers.NextDeadline);
    }

    [Fact]
    public void OnDataSent_Unanswered_NewHandshakeAfterKeepalivePlusRekeyTimeout()
    {
        var timers = NoJitter();
        timers.OnDataSent(S(0));
        timers.OnDataSent(S(4)); // does not push the deadline

        Assert.Equal(S(15), timers.NextDeadline);
        Assert.Equal(TimerActions.None, timers.Poll(S(14.9)));
        Assert.Equal(TimerActions.SendHandshakeInitiation, timers.Poll(S(15)));
    }

    [Fact]
    public void OnDataSent_AnsweredByAnyPacket_NoNewHandshake()
    {
        var timers = NoJitter();
        timers.OnDataSent(S(0));
        timers.OnAnyAuthenticatedPacketReceived(S(12));

        Assert.Equal(TimerActions.None, timers.Poll(S(30)));
    }

    [Fact]
    public void OnDataSent_Jitter_AddedWithinBound()
    {
        var timers = new PeerTimers(new FixedJitter(10_000));
        timers.OnDataSent(S(0));
        Assert.Equal(S(15.333), timers.NextDeadline);
    }

    [Fact]
    public void OnHandshakeInitiated_Unanswered_RetriesEveryRekeyTimeoutThenGivesUpAt90s()
    {
        var timers = NoJitter();
        timers.OnHandshakeInitiated(S(0));
        var sent = new List<TimeSpan> { S(0) };

        var log = RunUntil(timers, S(200), (at, actions) =>
        {
            if (actions.HasFlag(TimerActions.SendHandshakeInitiation))
            {
                sent.Add(at);
                timers.OnHandshakeInitiated(at);
            }
        });

        Assert.Equal(Enumerable.Range(0, 18).Select(i => S(5 * i)), sent);
        Assert.Equal(WireGuardConstants.MaxHandshakeAttempts, sent.Count);
        var giveUp = Assert.Single(log, e => e.Actions.HasFlag(TimerActions.GiveUpHandshake));
        Assert.Equal(S(90), giveUp.At);
        Assert.Equal(0, timers.HandshakeAttempts);
    }

    [Fact]
    public void OnHandshakeInitiated_RetryJitter_Applied()
    {
        var timers = new PeerTimers(new FixedJitter(250));
        timers.OnHandshakeInitiated(S(0));
        Assert.Equal(S(5.25), timers.NextDeadline);
    }

    [Fact]
    public void OnHandshakeInitiated_SeededRandomJitter_StaysUnder333ms()
    {
        var timers = new PeerTimers(new Random(42));
        var at = S(0);
        for (var i = 0; i < 200; i++)
        {
            timers.OnHandshakeInitiated(at);
            var delay = timers.NextDeadline!.Value - at;
            Assert.InRange(delay, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(5333));
            at += TimeSpan.FromSeconds(1);
        }
    }

    [Fact]
    public void OnHandshakeComplete_StopsRetries()
    {
        var timers = NoJitter();
        timers.OnHandshakeInitiated(S(0));
        Assert.Equal(TimerActions.SendHandshakeInitiation, timers.Poll(S(5)));
        timers.OnHandshakeInitiated(S(5));
        Assert.Equal(2, timers.HandshakeAttempts);

        timers.OnHandshakeComplete(S(6));

        Assert.Equal(0, timers.HandshakeAttempts);
        Assert.Equal(S(6), timers.LastHandshakeCompleted);
        Assert.Equal(TimerActions.None, timers.Poll(S(100)));
    }

    [Fact]
    public void GiveUp_ArmsZeroKeysAndClearsPassiveKeepalive()
    {
        var timers = NoJitter();
        timers.OnHandshakeInitiated(S(0));
        var log = RunUntil(timers, S(90), (at, actions) =>
        {
            if (actions.HasFlag(TimerActions.SendHandshakeInitiation))
            {
                timers.OnHandshakeInitiated(at);
            }
        });
        Assert.True(log[^1].Actions.HasFlag(TimerActions.GiveUpHandshake));

        Assert.Equal(S(90 + 540), timers.NextDeadline);
        Assert.Equal(TimerActions.ZeroKeys, timers.Poll(S(630)));
    }

    [Fact]
    public void Poll_NewHandshakeAfterRetry_RestartsAttemptCount()
    {
        var timers = NoJitter();
        timers.OnHandshakeInitiated(S(0));
        Assert.Equal(TimerActions.SendHandshakeInitiation, timers.Poll(S(5)));
        timers.OnHandshakeInitiated(S(5));
        Assert.Equal(2, timers.HandshakeAttempts);

        timers.OnHandshakeComplete(S(6));
        timers.OnDataSent(S(7));
        Assert.Equal(TimerActions.SendHandshakeInitiation, timers.Poll(S(22)));
        timers.OnHandshakeInitiated(S(22));

        Assert.Equal(1, timers.HandshakeAttempts);
    }

    [Fact]
    public void OnHandshakeInitiated_NotAskedByPoll_StartsNewAttemptCount()
    {
        var timers = NoJitter();
        timers.OnHandshakeInitiated(S(0));
        timers.Poll(S(5));
        timers.OnHandshakeInitiated(S(5));
        timers.OnHandshakeInitiated(S(10.1)); // e.g. the send path asked after its own check

        Assert.Equal(1, timers.HandshakeAttempts);
    }

    [Fact]
    public void CanSendHandshakeInitiation_RateLimitedToOnePerRekeyTimeout()
    {
        var timers = NoJitter();
        Assert.True(timers.CanSendHandshakeInitiation(S(0)));
        timers.OnHandshakeInitiated(S(0));
        Assert.False(timers.CanSendHandshakeInitiation(S(4.999)));
        Assert.True(timers.CanSendHandshakeInitiation(S(5)));
    }

    [Fact]
    public void PersistentKeepalive_Enabled_FiresIntervalAfterLastTraversal()
    {
        var timers = NoJitter();
        timers.PersistentKeepaliveInterval = TimeSpan.FromSeconds(25);
        timers.OnAnyAuthenticatedPacketTraversal(S(0));
        timers.OnAnyAuthenticatedPacketTraversal(S(10));

        Assert.Equal(S(35), timers.NextDeadline);
        Assert.Equal(TimerActions.None, timers.Poll(S(34)));
        Assert.Equal(TimerActions.SendPersistentKeepalive, timers.Poll(S(35)));

        // Sending that keepalive is itself a traversal, which keeps the cycle going.
        timers.OnAnyAuthenticatedPacketTraversal(S(35));
        Assert.Equal(S(60), timers.NextDeadline);
    }

    [Fact]
    public void PersistentKeepalive_Off_NeverFires()
    {
        var timers = NoJitter();
        timers.OnAnyAuthenticatedPacketTraversal(S(0));
        Assert.Null(timers.NextDeadline);
    }

    [Fact]
    public void PersistentKeepalive_TurnedOff_Disarmed()
    {
        var timers = NoJitter();
        timers.PersistentKeepaliveInterval = TimeSpan.FromSeconds(25);
        timers.OnAnyAuthenticatedPacketTraversal(S(0));
        timers.PersistentKeepaliveInterval = TimeSpan.Zero;

        Assert.Equal(TimerActions.None, timers.Poll(S(100)));
    }

    [Fact]
    public void OnSessionDerived_NoNewSession_ZeroKeysAfter540s()
    {
        var timers = NoJitter();
        timers.OnSessionDerived(S(0));
        timers.OnSessionDerived(S(100));

        Assert.Equal(TimerActions.None, timers.Poll(S(639)));
        Assert.Equal(TimerActions.ZeroKeys, timers.Poll(S(640)));
        Assert.Equal(TimerActions.None, timers.Poll(S(2000)));
    }

    [Fact]
    public void Poll_LateCall_ReportsEveryDueActionAtOnce()
    {
        var timers = NoJitter();
        timers.PersistentKeepaliveInterval = TimeSpan.FromSeconds(1);
        timers.OnAnyAuthenticatedPacketTraversal(S(0));
        timers.OnDataReceived(S(0));
        timers.OnDataSent(S(0));
        timers.OnSessionDerived(S(0));

        var actions = timers.Poll(S(1000));

        Assert.Equal(TimerActions.SendPersistentKeepalive | TimerActions.SendKeepalive | TimerActions.SendHandshakeInitiation | TimerActions.ZeroKeys, actions);
        Assert.Null(timers.NextDeadline);
    }

    [Fact]
    public void Reset_DisarmsEverything()
    {
        var timers = NoJitter();
        timers.PersistentKeepaliveInterval = TimeSpan.FromSeconds(1);
        timers.OnAnyAuthenticatedPacketTraversal(S(0));
        timers.OnDataReceived(S(0));
        timers.OnDataSent(S(0));
        timers.OnSessionDerived(S(0));
        timers.OnHandshakeInitiated(S(0));

        timers.Reset();

        Assert.Null(timers.NextDeadline);
        Assert.Equal(0, timers.HandshakeAttempts);
    }

    [Fact]
    public void ShouldRekeyOnSend_InitiatorAfterRekeyAfterTime_True()
    {
        var keypair = KeypairFactory.Create(1, isInitiator: true, created: T0);
        Assert.False(PeerTimers.ShouldRekeyOnSend(keypair, S(119.999)));
        Assert.True(PeerTimers.ShouldRekeyOnSend(keypair, S(120)));
    }

    [Fact]
    public void ShouldRekeyOnSend_ResponderOnAge_False()
    {
        var keypair = KeypairFactory.Create(1, isInitiator: false, created: T0);
        Assert.False(PeerTimers.ShouldRekeyOnSend(keypair, S(179)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ShouldRekeyOnSend_AfterRekeyAfterMessages_True(bool isInitiator)
    {
        var keypair = KeypairFactory.Create(1, isInitiator, created: T0);
        keypair.SetSendCounterForTesting(WireGuardConstants.RekeyAfterMessages - 1);
        Assert.False(PeerTimers.ShouldRekeyOnSend(keypair, S(1)));

        Assert.True(keypair.TryReserveSendCounter(out _));

        Assert.True(PeerTimers.ShouldRekeyOnSend(keypair, S(1)));
    }

    [Fact]
    public void ShouldRekeyOnReceive_InitiatorNearRejectAfterTime_True()
    {
        var keypair = KeypairFactory.Create(1, isInitiator: true, created: T0);
        Assert.False(PeerTimers.ShouldRekeyOnReceive(keypair, S(164.999)));
        Assert.True(PeerTimers.ShouldRekeyOnReceive(keypair, S(165)));
    }

    [Fact]
    public void ShouldRekeyOnReceive_Responder_False()
    {
        var keypair = KeypairFactory.Create(1, isInitiator: false, created: T0);
        Assert.False(PeerTimers.ShouldRekeyOnReceive(keypair, S(170)));
    }

    [Fact]
    public void TryClaimLastMinuteHandshake_OncePerHandshake()
    {
        var timers = NoJitter();
        var keypair = KeypairFactory.Create(1, isInitiator: true, created: T0);

        Assert.False(timers.TryClaimLastMinuteHandshake(keypair, S(100)));
        Assert.True(timers.TryClaimLastMinuteHandshake(keypair, S(166)));
        Assert.False(timers.TryClaimLastMinuteHandshake(keypair, S(167)));

        timers.OnHandshakeComplete(S(168));
        Assert.True(timers.TryClaimLastMinuteHandshake(keypair, S(169)));
    }
}
