using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Channel;

/// <summary>
/// The replay and flood state of the control channel's handshakes, per machine key: the greatest TAI64N timestamp
/// accepted (an initiation must carry a greater one, whitepaper 5.1) and when it was accepted (a new one must come
/// more than 20 ms later). 24 bytes of state a machine, where a whole Handshake per machine cost about 1.7 KB.
///
/// What the check protects, and for how long: a replayed initiation can make the server answer and open a channel,
/// but nobody can use that channel (its keys need the initiator's ephemeral and static private keys), so a replay
/// costs the server what an initiation from a freshly made machine key costs, which anyone can send anyway. The
/// state is worth keeping while it distinguishes a real machine's replays from its own handshakes, and forgetting
/// it for a machine nobody knows loses nothing an attacker did not already have. So:
/// - members (machines that registered or fetched a map on a channel: nodes of the tailnet) are kept while they
///   handshake at least once per <see cref="MemberHorizon"/> (nodes rekey every two minutes), up to
///   <see cref="MemberCapacity"/>, least recently used first out;
/// - strangers (every other machine key) are kept for <see cref="StrangerHorizon"/> after their last accepted
///   handshake (longer than a channel lives), up to <see cref="StrangerCapacity"/>, least recently used first out.
/// A flood of throwaway keys therefore only ever evicts other strangers, never a member's state, and nothing is
/// ever cleared wholesale. Thread-safe: one lock, O(1) work under it.
/// </summary>
internal sealed class HandshakeReplayTable
{
    public static readonly TimeSpan StrangerHorizon = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan MemberHorizon = TimeSpan.FromDays(7);

    private readonly Lock _lock = new();
    private readonly Segment _members;
    private readonly Segment _strangers;

    public HandshakeReplayTable(int memberCapacity = 1 << 20, int strangerCapacity = 1 << 14)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(memberCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(strangerCapacity, 1);
        MemberCapacity = memberCapacity;
        StrangerCapacity = strangerCapacity;
        _members = new Segment(memberCapacity, MemberHorizon);
        _strangers = new Segment(strangerCapacity, StrangerHorizon);
    }

    public int MemberCapacity { get; }

    public int StrangerCapacity { get; }

    /// <summary>Machines remembered now (members and strangers).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _members.Count + _strangers.Count;
            }
        }
    }

    /// <summary>
    /// Records an initiation of <paramref name="machine"/> stamped <paramref name="timestamp"/> at monotonic time
    /// <paramref name="now"/>: true when its timestamp is greater than every one accepted before and it comes more
    /// than the flood interval after the last; false (nothing changes) for a replay or a flood.
    /// </summary>
    public bool TryAccept(MachinePublicKey machine, Tai64N timestamp, TimeSpan now)
    {
        lock (_lock)
        {
            _members.Expire(now);
            _strangers.Expire(now);
            var segment = _members.Contains(machine) ? _members : _strangers;
            if (segment.TryGet(machine, out var state)
                && (timestamp <= state.Greatest || now - state.LastAccepted <= NoiseConstants.HandshakeInitiationRate))
            {
                return false;
            }

            segment.Put(machine, new ReplayState(timestamp, now));
            return true;
        }
    }

    /// <summary>Makes <paramref name="machine"/> a member: a flood of strangers no longer evicts its state.</summary>
    public void Promote(MachinePublicKey machine)
    {
        lock (_lock)
        {
            if (_strangers.TryRemove(machine, out var state))
            {
                _members.Put(machine, state);
            }
        }
    }

    /// <summary>Whether <paramref name="machine"/> is remembered as a member (tests and diagnostics).</summary>
    public bool IsMember(MachinePublicKey machine)
    {
        lock (_lock)
        {
            return _members.Contains(machine);
        }
    }

    private readonly record struct ReplayState(Tai64N Greatest, TimeSpan LastAccepted);

    /// <summary>Machines in least-recently-accepted order (the list's first is the oldest); not thread-safe.</summary>
    private sealed class Segment(int capacity, TimeSpan horizon)
    {
        private readonly Dictionary<MachinePublicKey, LinkedListNode<(MachinePublicKey Machine, ReplayState State)>> _index = [];
        private readonly LinkedList<(MachinePublicKey Machine, ReplayState State)> _order = new();

        public int Count => _index.Count;

        public bool Contains(MachinePublicKey machine) => _index.ContainsKey(machine);

        public bool TryGet(MachinePublicKey machine, out ReplayState state)
        {
            var found = _index.TryGetValue(machine, out var node);
            state = found ? node!.Value.State : default;
            return found;
        }

        public void Put(MachinePublicKey machine, ReplayState state)
        {
            if (_index.TryGetValue(machine, out var node))
            {
                _order.Remove(node);
                node.Value = (machine, state);
                _order.AddLast(node);
                return;
            }

            if (_index.Count >= capacity && _order.First is { } oldest)
            {
                _order.RemoveFirst();
                _index.Remove(oldest.Value.Machine);
            }

            _index[machine] = _order.AddLast((machine, state));
        }

        public bool TryRemove(MachinePublicKey machine, out ReplayState state)
        {
            if (_index.Remove(machine, out var node))
            {
                _order.Remove(node);
                state = node.Value.State;
                return true;
            }

            state = default;
            return false;
        }

        /// <summary>Forgets the machines whose last accepted handshake is older than the horizon.</summary>
        public void Expire(TimeSpan now)
        {
            while (_order.First is { } oldest && now - oldest.Value.State.LastAccepted > horizon)
            {
                _order.RemoveFirst();
                _index.Remove(oldest.Value.Machine);
            }
        }
    }
}
