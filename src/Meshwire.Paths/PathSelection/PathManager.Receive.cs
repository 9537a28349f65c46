using Meshwire.Core;
using Meshwire.Paths.Disco;

namespace Meshwire.Paths.PathSelection;

// Received discovery datagrams: demultiplex → find the peer by the sender's disco key → open the box → check the
// relay's sender, freshness and nonce → act. Anything that fails a check is dropped without a reply.
//   Ping        → queue a pong to the source (same way back: UDP or relay); a direct source is learned as a
//                 candidate and, if the peer is active, pinged back at once (roaming, hole punching)
//   Pong        → accepted once, for a ping we sent and still wait for: proves the pinged address, records latency,
//                 maybe switches path; a pong from an unexpected address teaches that address as a candidate
//   CallMeMaybe → the sender's endpoints replace its previous call-me-maybe candidates and are pinged now
public sealed partial class PathManager
{
    /// <summary>
    /// Handles one datagram that may be a discovery message; <paramref name="unixMs"/> is this machine's wall clock
    /// (for the replay window, since timestamps cross machines). Replies are queued for <see cref="TryPoll"/>.
    /// </summary>
    public DiscoReceiveResult HandleDisco(ReadOnlySpan<byte> datagram, DiscoSource source, TimeSpan now, long unixMs)
    {
        if (!DiscoWire.IsDiscoMessage(datagram))
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.NotDisco, default, default);
        }

        if (!DiscoWire.TryReadSender(datagram, out var sender))
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.Malformed, default, default);
        }

        if (!_byDisco.TryGetValue(sender, out var state) || state.Box is null)
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.UnknownSender, default, default);
        }

        var status = DiscoWire.TryRead(datagram, state.Box, out var message);
        if (status != DiscoReadStatus.Ok)
        {
            var outcome = status is DiscoReadStatus.Forged or DiscoReadStatus.WrongSender ? DiscoReceiveOutcome.Forged : DiscoReceiveOutcome.Malformed;
            return new DiscoReceiveResult(outcome, state.NodeKey, default);
        }

        if (source.IsRelay && source.RelayedFrom != state.NodeKey)
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.SenderMismatch, state.NodeKey, default);
        }

        if (state.Replay.Check(DiscoWire.NonceOf(datagram), message.UnixMs, unixMs) != DiscoReplayVerdict.Fresh)
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.Replayed, state.NodeKey, default);
        }

        return message.Type switch
        {
            DiscoMessageType.Ping => OnPing(state, message, source, now),
            DiscoMessageType.Pong => OnPong(state, message, source, now),
            _ => OnCallMeMaybe(state, message, now),
        };
    }

    private DiscoReceiveResult OnPing(PeerPaths state, in DiscoMessage ping, DiscoSource source, TimeSpan now)
    {
        if (ping.NodeKey != state.NodeKey)
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.SenderMismatch, state.NodeKey, default);
        }

        Enqueue(new Outbound(state, DiscoMessageType.Pong, source.IsRelay, source.Direct, ping.TxId, source.Direct));
        if (!source.IsRelay && state.Add(source.Direct, CandidateOrigin.Learned) is { } candidate
            && state.IsActive(now) && !candidate.IsTrusted(now))
        {
            QueuePing(state, candidate, now);
            Schedule(state, now + PathConstants.PingTimeout);
        }

        return new DiscoReceiveResult(DiscoReceiveOutcome.PingAnswered, state.NodeKey, default);
    }

    private DiscoReceiveResult OnPong(PeerPaths state, in DiscoMessage pong, DiscoSource source, TimeSpan now)
    {
        // Pings go out directly only, so a pong must come back directly too.
        if (source.IsRelay || !state.TryTakePending(pong.TxId, out var pinged, out var sentAt))
        {
            return new DiscoReceiveResult(DiscoReceiveOutcome.PongUnexpected, state.NodeKey, default);
        }

        if (source.Direct != pinged)
        {
            state.Add(source.Direct, CandidateOrigin.Learned);
        }

        if (state.Find(pinged) is { } candidate)
        {
            candidate.LastPong = now;
            candidate.Latency = now - sentAt;
            ConsiderPath(state, candidate, now);
        }

        return new DiscoReceiveResult(DiscoReceiveOutcome.PongAccepted, state.NodeKey, pong.Source);
    }

    private DiscoReceiveResult OnCallMeMaybe(PeerPaths state, in DiscoMessage callMeMaybe, TimeSpan now)
    {
        state.ReplaceOrigin(CandidateOrigin.CallMeMaybe, callMeMaybe.Endpoints);
        foreach (var endpoint in callMeMaybe.Endpoints)
        {
            if (state.Find(endpoint) is { } candidate && !candidate.IsTrusted(now))
            {
                QueuePing(state, candidate, now);
            }
        }

        Schedule(state, now + PathConstants.PingTimeout);
        return new DiscoReceiveResult(DiscoReceiveOutcome.CallMeMaybeAccepted, state.NodeKey, default);
    }

    /// <summary>A pong proved <paramref name="candidate"/>: use it when there is no live path, or when it is clearly faster.</summary>
    private void ConsiderPath(PeerPaths state, Candidate candidate, TimeSpan now)
    {
        if (state.Best is not { } best || !best.IsTrusted(now))
        {
            if (state.Best is null)
            {
                state.NextUpgradeAt = now + PathConstants.UpgradeInterval;
            }

            state.Best = candidate;
        }
        else if (candidate != best && IsClearlyFaster(candidate.Latency, best.Latency))
        {
            state.Best = candidate;
        }

        Schedule(state, now);
    }

    /// <summary>Hysteresis: faster by <see cref="PathConstants.SwitchMinRelativeGain"/> and by <see cref="PathConstants.SwitchMinAbsoluteGain"/>.</summary>
    internal static bool IsClearlyFaster(TimeSpan candidate, TimeSpan current) =>
        current - candidate >= PathConstants.SwitchMinAbsoluteGain
        && candidate.Ticks <= current.Ticks * (1 - PathConstants.SwitchMinRelativeGain);
}
