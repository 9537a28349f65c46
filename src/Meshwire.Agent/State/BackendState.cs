namespace Meshwire.Agent.State;

/// <summary>
/// Where the agent is on its way into the tailnet (the names Tailscale's backend uses, so scripts read alike).
/// Transitions:
///   NoState → NeedsLogin (never registered, not wanted running) | Stopped (registered, not wanted running) | Starting (wanted running)
///   Starting → NeedsLogin (control gave a login URL, or refused the auth key) | NeedsMachineAuth (waiting for an admin)
///            → Running (a map was applied: from control, or the cached one at start)
///   NeedsLogin → Starting (login completed, or a new up) ; NeedsMachineAuth → Running (approved, on the next retry)
///   any → Stopped (down) ; any → NeedsLogin (logout)
/// </summary>
public enum BackendState
{
    NoState,
    NeedsLogin,
    NeedsMachineAuth,
    Stopped,
    Starting,
    Running,
}
