namespace Meshwire.Paths.PathSelection;

/// <summary>
/// Timers and limits of path selection, in one place (docs/discovery.md "Path selection" explains each).
/// </summary>
public static class PathConstants
{
    /// <summary>A peer is active while <see cref="PathManager.Route"/> was asked for it within this; idle peers are not pinged.</summary>
    public static readonly TimeSpan ActiveTimeout = TimeSpan.FromSeconds(45);

    /// <summary>A direct path is trusted this long after its last pong (or direct traffic from it); then it is dead.</summary>
    public static readonly TimeSpan TrustDuration = TimeSpan.FromMilliseconds(6500);

    /// <summary>While active on a direct path, the path is pinged this often (unless traffic from it already proved it).</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(3);

    /// <summary>A ping not answered within this is forgotten; its pong, arriving later, is ignored.</summary>
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);

    /// <summary>One candidate is pinged at most this often, whatever asks for it (rounds, call-me-maybe, pings received).</summary>
    public static readonly TimeSpan CandidatePingMinInterval = TimeSpan.FromSeconds(1);

    /// <summary>First retry of a discovery round that found no direct path; doubles up to <see cref="DiscoveryRetryMax"/>.</summary>
    public static readonly TimeSpan DiscoveryRetryMin = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan DiscoveryRetryMax = TimeSpan.FromSeconds(30);

    /// <summary>While on a direct path, every other candidate is pinged this often, looking for a better path.</summary>
    public static readonly TimeSpan UpgradeInterval = TimeSpan.FromSeconds(60);

    /// <summary>Another proven path replaces the current one only when at least this much faster, relatively...</summary>
    public const double SwitchMinRelativeGain = 0.10;

    /// <summary>...and absolutely: avoids flapping between paths of nearly equal latency.</summary>
    public static readonly TimeSpan SwitchMinAbsoluteGain = TimeSpan.FromMilliseconds(1);

    /// <summary>Candidates kept per peer (netmap, call-me-maybe and learned together); further ones are ignored.</summary>
    public const int MaxCandidatesPerPeer = 32;

    /// <summary>Unanswered pings remembered per peer; the oldest is forgotten beyond this.</summary>
    public const int MaxPendingPingsPerPeer = 32;

    /// <summary>Discovery datagrams waiting for <see cref="PathManager.TryPoll"/>; further ones are dropped (and counted).</summary>
    public const int MaxQueuedTransmits = 512;

    /// <summary>Peers woken by one <see cref="PathManager.TryPoll"/> call, so one call does bounded work.</summary>
    public const int MaxPeersWokenPerPoll = 16;
}
