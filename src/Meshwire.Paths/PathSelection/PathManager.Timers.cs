namespace Meshwire.Paths.PathSelection;

// Per-peer timers. Each peer has at most one live entry in _timers (the one whose time equals its WakeAt); earlier
// entries supersede later ones and stale entries are skipped when they surface. Waking a peer runs, in order:
//   1. forget pings older than PingTimeout
//   2. a direct path with no pong or traffic for TrustDuration is dead: switch to another trusted candidate, or
//      back to the relay and restart discovery (backoff reset)
//   3. active peers only: no direct path → discovery round (ping all candidates + call-me-maybe) when due, then
//      back off (DiscoveryRetryMin doubling to DiscoveryRetryMax); direct path → heartbeat ping when due, and every
//      UpgradeInterval ping the other candidates looking for a faster path
//   4. schedule the earliest of: next ping expiry, path expiry, and (active) the next round, heartbeat or upgrade
public sealed partial class PathManager
{
    private readonly PriorityQueue<PeerPaths, TimeSpan> _timers = new();

    /// <summary>
    /// When the driver must call <see cref="TryPoll"/> next even if nothing arrives (monotonic, like every <c>now</c>);
    /// <see cref="TimeSpan.Zero"/> when datagrams are queued already, <see cref="TimeSpan.MaxValue"/> when nothing is due.
    /// </summary>
    public TimeSpan NextDeadline
    {
        get
        {
            if (_outbox.Count > 0)
            {
                return TimeSpan.Zero;
            }

            while (_timers.TryPeek(out var state, out var at))
            {
                if (!state.Removed && state.WakeAt == at)
                {
                    return at;
                }

                _timers.Dequeue();
            }

            return TimeSpan.MaxValue;
        }
    }

    private void Schedule(PeerPaths state, TimeSpan at)
    {
        if (at < state.WakeAt)
        {
            state.WakeAt = at;
            _timers.Enqueue(state, at);
        }
    }

    /// <summary>Wakes due peers, at most <see cref="PathConstants.MaxPeersWokenPerPoll"/> (stale entries count too).</summary>
    private void WakeDuePeers(TimeSpan now)
    {
        for (var budget = PathConstants.MaxPeersWokenPerPoll; budget > 0 && _timers.TryPeek(out var state, out var at) && at <= now; budget--)
        {
            _timers.Dequeue();
            if (state.Removed || state.WakeAt != at)
            {
                continue;
            }

            state.WakeAt = TimeSpan.MaxValue;
            Wake(state, now);
        }
    }

    private void Wake(PeerPaths state, TimeSpan now)
    {
        var next = state.ExpirePending(now);
        if (state.Best is { } stale && !stale.IsTrusted(now))
        {
            LoseBest(state, now);
        }

        if (state.IsActive(now))
        {
            if (state.Best is not { } best)
            {
                if (now >= state.NextDiscoveryAt)
                {
                    DiscoveryRound(state, now, callMeMaybe: true);
                    state.NextDiscoveryAt = now + state.RetryDelay;
                    state.RetryDelay = Min(state.RetryDelay * 2, PathConstants.DiscoveryRetryMax);
                }

                next = Min(next, state.NextDiscoveryAt);
            }
            else
            {
                if (now >= HeartbeatDue(best))
                {
                    QueuePing(state, best, now);
                }

                if (now >= state.NextUpgradeAt)
                {
                    DiscoveryRound(state, now, callMeMaybe: false);
                    state.NextUpgradeAt = now + PathConstants.UpgradeInterval;
                }

                next = Min(next, Min(HeartbeatDue(best), state.NextUpgradeAt));
            }
        }

        if (state.Best?.ConfirmedAt is { } confirmed)
        {
            next = Min(next, confirmed + PathConstants.TrustDuration);
        }

        if (next != TimeSpan.MaxValue)
        {
            Schedule(state, next <= now ? now + PathConstants.CandidatePingMinInterval : next);
        }
    }

    /// <summary>A heartbeat is due HeartbeatInterval after the later of our last ping and the last traffic on the path.</summary>
    private static TimeSpan HeartbeatDue(Candidate best)
    {
        var last = best.LastPingSent ?? TimeSpan.Zero;
        if (best.LastTraffic is { } traffic && traffic > last)
        {
            last = traffic;
        }

        return last + PathConstants.HeartbeatInterval;
    }

    private void DiscoveryRound(PeerPaths state, TimeSpan now, bool callMeMaybe)
    {
        foreach (var candidate in state.Candidates)
        {
            if (candidate != state.Best)
            {
                QueuePing(state, candidate, now);
            }
        }

        if (callMeMaybe && _localEndpoints.Length > 0 && RelayDecision(state).Kind == PathKind.Relay)
        {
            Enqueue(new Outbound(state, Disco.DiscoMessageType.CallMeMaybe, ViaRelay: true, default));
        }
    }

    /// <summary>The path in use died: take the fastest other trusted candidate, else go relayed and rediscover now.</summary>
    private void LoseBest(PeerPaths state, TimeSpan now)
    {
        state.Best = null;
        foreach (var candidate in state.Candidates)
        {
            if (candidate.IsTrusted(now) && (state.Best is null || candidate.Latency < state.Best.Latency))
            {
                state.Best = candidate;
            }
        }

        state.Candidates.RemoveAll(c => c.Origin == CandidateOrigin.None && c != state.Best);
        if (state.Best is null)
        {
            RestartDiscovery(state, now);
        }
    }

    /// <summary>Next wake runs a full round: a discovery round when relayed, an upgrade round when direct.</summary>
    private void RestartDiscovery(PeerPaths state, TimeSpan now)
    {
        state.RetryDelay = PathConstants.DiscoveryRetryMin;
        state.NextDiscoveryAt = now;
        state.NextUpgradeAt = now;
        Schedule(state, now);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
