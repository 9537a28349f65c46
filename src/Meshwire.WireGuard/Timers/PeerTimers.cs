using Meshwire.WireGuard.Protocol;

namespace Meshwire.WireGuard.Timers;

// The per-peer timer state machine of whitepaper section 6, sans-I/O: the caller reports events with the monotonic
// time, calls Poll(now) at or after NextDeadline, and carries out the returned actions. Five one-shot timers:
//
//   retransmit-handshake  armed by OnHandshakeInitiated at now + REKEY_TIMEOUT + jitter;
//                         cleared by OnHandshakeComplete.
//                         Fires: if MaxHandshakeAttempts initiations went unanswered -> GiveUpHandshake (and clears the
//                         passive keepalive, arms zero-key-material if idle); else -> SendHandshakeInitiation as a retry
//                         (the following OnHandshakeInitiated counts it as another attempt of the same handshake).
//   send-keepalive        armed by OnDataReceived at now + KEEPALIVE_TIMEOUT unless already armed (then it remembers
//                         that another keepalive is needed); cleared by OnAnyAuthenticatedPacketSent.
//                         Fires: SendKeepalive, re-armed for one more KEEPALIVE_TIMEOUT if more data came meanwhile.
//   new-handshake         armed by OnDataSent at now + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter unless already armed;
//                         cleared by OnAnyAuthenticatedPacketReceived.
//                         Fires: SendHandshakeInitiation as a fresh handshake (attempt count restarts): the peer has not
//                         answered our data, not even with a keepalive, so the session is presumed dead.
//   zero-key-material     armed by OnSessionDerived at now + 3 * REJECT_AFTER_TIME (and on give-up if idle).
//                         Fires: ZeroKeys.
//   persistent-keepalive  armed by OnAnyAuthenticatedPacketTraversal at now + PersistentKeepaliveInterval when the
//                         interval is not zero.
//                         Fires: SendPersistentKeepalive.
//
// Which events to report for what (as the reference implementations do):
//   sent transport data (not a keepalive)      OnDataSent
//   sent any transport message or initiation   OnAnyAuthenticatedPacketSent, OnAnyAuthenticatedPacketTraversal
//   sent a handshake initiation                also OnHandshakeInitiated (even if the socket send failed)
//   received data (plaintext length > 0)       OnDataReceived
//   received any authenticated message         OnAnyAuthenticatedPacketReceived, OnAnyAuthenticatedPacketTraversal
//   derived a session (either role)            OnSessionDerived
//   handshake response consumed, or first
//   message under a responder's session        OnHandshakeComplete

/// <summary>
/// One peer's protocol timers (whitepaper 6). Not thread-safe: the caller serialises calls under the peer's lock.
/// Allocates nothing after construction.
/// </summary>
public sealed partial class PeerTimers
{
    private readonly Random _jitter;

    private TimeSpan? _retransmitHandshake;
    private TimeSpan? _sendKeepalive;
    private TimeSpan? _newHandshake;
    private TimeSpan? _zeroKeyMaterial;
    private TimeSpan? _persistentKeepalive;

    private bool _needAnotherKeepalive;
    private bool _retryDue;
    private TimeSpan _persistentKeepaliveInterval;

    /// <param name="jitter">Source of handshake jitter; <see cref="Random.Shared"/> when null. Seed it in tests.</param>
    public PeerTimers(Random? jitter = null) => _jitter = jitter ?? Random.Shared;

    /// <summary>
    /// Interval of persistent keepalives; zero turns them off. Changing it does not send anything: the caller sends a
    /// keepalive when it turns them on (which arms the timer through OnAnyAuthenticatedPacketTraversal).
    /// </summary>
    public TimeSpan PersistentKeepaliveInterval
    {
        get => _persistentKeepaliveInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _persistentKeepaliveInterval = value;
            if (value == TimeSpan.Zero)
            {
                _persistentKeepalive = null;
            }
        }
    }

    /// <summary>Initiations sent for the handshake in progress; zero when none is.</summary>
    public int HandshakeAttempts { get; private set; }

    /// <summary>When the last handshake completed, or null if none has.</summary>
    public TimeSpan? LastHandshakeCompleted { get; private set; }

    /// <summary>When the last initiation was sent, or null if none was.</summary>
    public TimeSpan? LastInitiationSent { get; private set; }

    /// <summary>The earliest time at which <see cref="Poll"/> has something to do, or null when no timer is armed.</summary>
    public TimeSpan? NextDeadline => Min(Min(Min(_retransmitHandshake, _sendKeepalive), Min(_newHandshake, _zeroKeyMaterial)), _persistentKeepalive);

    /// <summary>We sent a transport message carrying data (not a keepalive).</summary>
    public void OnDataSent(TimeSpan now)
    {
        _newHandshake ??= now + WireGuardConstants.KeepaliveTimeout + WireGuardConstants.RekeyTimeout + Jitter();
    }

    /// <summary>We received a transport message carrying data (not a keepalive).</summary>
    public void OnDataReceived(TimeSpan now)
    {
        if (_sendKeepalive is null)
        {
            _sendKeepalive = now + WireGuardConstants.KeepaliveTimeout;
        }
        else
        {
            _needAnotherKeepalive = true;
        }
    }

    /// <summary>We sent any authenticated message (transport, keepalive, handshake): no passive keepalive is owed.</summary>
    public void OnAnyAuthenticatedPacketSent(TimeSpan now)
    {
        _sendKeepalive = null;
    }

    /// <summary>We received any authenticated message: the peer is alive, so no new handshake for silence.</summary>
    public void OnAnyAuthenticatedPacketReceived(TimeSpan now)
    {
        _newHandshake = null;
    }

    /// <summary>Any authenticated message was sent or received: restart the persistent keepalive interval.</summary>
    public void OnAnyAuthenticatedPacketTraversal(TimeSpan now)
    {
        if (_persistentKeepaliveInterval > TimeSpan.Zero)
        {
            _persistentKeepalive = now + _persistentKeepaliveInterval;
        }
    }

    /// <summary>
    /// We sent a handshake initiation. If <see cref="Poll"/> asked for a retry this is another attempt of the same
    /// handshake; otherwise a fresh handshake starts counting attempts from one.
    /// </summary>
    public void OnHandshakeInitiated(TimeSpan now)
    {
        HandshakeAttempts = _retryDue ? HandshakeAttempts + 1 : 1;
        _retryDue = false;
        LastInitiationSent = now;
        _retransmitHandshake = now + WireGuardConstants.RekeyTimeout + Jitter();
    }

    /// <summary>
    /// A handshake completed: as initiator when the response was consumed, as responder when the first transport message
    /// under the new session arrived.
    /// </summary>
    public void OnHandshakeComplete(TimeSpan now)
    {
        _retransmitHandshake = null;
        _retryDue = false;
        HandshakeAttempts = 0;
        SentLastMinuteHandshake = false;
        LastHandshakeCompleted = now;
    }

    /// <summary>New session keys were derived (either role): key material lives 3 * REJECT_AFTER_TIME from here.</summary>
    public void OnSessionDerived(TimeSpan now)
    {
        _zeroKeyMaterial = now + (3 * WireGuardConstants.RejectAfterTime);
    }

    /// <summary>
    /// True unless an initiation was sent less than REKEY_TIMEOUT ago: initiations are rate limited to one per
    /// REKEY_TIMEOUT (whitepaper 6.4), whatever asks for them.
    /// </summary>
    public bool CanSendHandshakeInitiation(TimeSpan now) =>
        LastInitiationSent is not { } last || now - last >= WireGuardConstants.RekeyTimeout;

    /// <summary>Fires every timer due at <paramref name="now"/> and returns what the caller must do.</summary>
    public TimerActions Poll(TimeSpan now)
    {
        var actions = TimerActions.None;

        if (_retransmitHandshake <= now)
        {
            _retransmitHandshake = null;
            if (HandshakeAttempts >= WireGuardConstants.MaxHandshakeAttempts)
            {
                actions |= TimerActions.GiveUpHandshake;
                HandshakeAttempts = 0;
                _retryDue = false;
                _sendKeepalive = null;
                _zeroKeyMaterial ??= now + (3 * WireGuardConstants.RejectAfterTime);
            }
            else
            {
                actions |= TimerActions.SendHandshakeInitiation;
                _retryDue = true;
            }
        }

        if (_sendKeepalive <= now)
        {
            _sendKeepalive = null;
            actions |= TimerActions.SendKeepalive;
            if (_needAnotherKeepalive)
            {
                _needAnotherKeepalive = false;
                _sendKeepalive = now + WireGuardConstants.KeepaliveTimeout;
            }
        }

        if (_newHandshake <= now)
        {
            _newHandshake = null;
            actions |= TimerActions.SendHandshakeInitiation;
            _retryDue = false;
        }

        if (_zeroKeyMaterial <= now)
        {
            _zeroKeyMaterial = null;
            actions |= TimerActions.ZeroKeys;
        }

        if (_persistentKeepalive <= now)
        {
            _persistentKeepalive = null;
            if (_persistentKeepaliveInterval > TimeSpan.Zero)
            {
                actions |= TimerActions.SendPersistentKeepalive;
            }
        }

        return actions;
    }

    /// <summary>Disarms every timer and forgets handshake progress (peer removed, interface down).</summary>
    public void Reset()
    {
        _retransmitHandshake = null;
        _sendKeepalive = null;
        _newHandshake = null;
        _zeroKeyMaterial = null;
        _persistentKeepalive = null;
        _needAnotherKeepalive = false;
        _retryDue = false;
        HandshakeAttempts = 0;
        SentLastMinuteHandshake = false;
    }

    private TimeSpan Jitter() => TimeSpan.FromMilliseconds(_jitter.Next(WireGuardConstants.RekeyTimeoutJitterMaxMilliseconds));

    private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
