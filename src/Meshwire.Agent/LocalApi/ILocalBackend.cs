using Meshwire.Agent.Paths;
using Meshwire.Agent.State;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.WireGuard.Config;

namespace Meshwire.Agent.LocalApi;

/// <summary>Everything status and whois read, taken at one moment.</summary>
public sealed record BackendSnapshot(
    BackendState State,
    string? AuthUrl,
    string? LastError,
    bool ControlConnected,
    NodePublicKey SelfKey,
    NetmapView? Netmap,
    DeviceStatus Engine,
    NodePrefs Prefs);

/// <summary>
/// What the LocalAPI serves from: the agent (Agent.LocalBackend.cs) in meshwired, a fake in tests. Reads are
/// snapshots; the commands run the agent's lifecycle and may throw <see cref="AgentCommandException"/> (answered 400).
/// </summary>
public interface ILocalBackend
{
    BackendSnapshot Snapshot();

    IPeerPaths Paths { get; }

    /// <summary>Starts (or restarts) joining the tailnet, then waits up to <paramref name="wait"/> for the state to settle.</summary>
    Task<BackendSnapshot> UpAsync(UpRequest request, TimeSpan wait, CancellationToken cancellationToken);

    Task DownAsync(CancellationToken cancellationToken);

    /// <summary>Null when control confirmed the logout, else why it could not be told.</summary>
    Task<string?> LogoutAsync(CancellationToken cancellationToken);

    Task<NodePrefs> EditPrefsAsync(PrefsEdit edit, CancellationToken cancellationToken);
}
