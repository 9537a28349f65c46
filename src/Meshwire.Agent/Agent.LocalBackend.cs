using Meshwire.Agent.LocalApi;
using Meshwire.Agent.Paths;
using Meshwire.Agent.State;

namespace Meshwire.Agent;

// The agent as the LocalAPI's backend.
public sealed partial class Agent : ILocalBackend
{
    private IPeerPaths? _fallbackPaths;

    /// <summary>The path layer the LocalAPI asks for paths, pings and netcheck; null: the engine's endpoints only (<see cref="EnginePaths"/>).</summary>
    public IPeerPaths? PeerPaths { get; set; }

    IPeerPaths ILocalBackend.Paths => PeerPaths ?? (_fallbackPaths ??= new EnginePaths(_engine));

    public BackendSnapshot Snapshot()
    {
        BackendState state;
        string? authUrl;
        string? error;
        lock (_stateLock)
        {
            state = _state;
            authUrl = _authUrl;
            error = _lastError;
        }

        return new BackendSnapshot(state, authUrl, error, _connected, _store.Keys.NodePublicKey, Netmap, _engine.GetStatus(), _store.LoadPrefs());
    }

    async Task<BackendSnapshot> ILocalBackend.UpAsync(UpRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        await UpAsync(request, cancellationToken);
        await WaitForSettledAsync(wait, cancellationToken);
        return Snapshot();
    }

    Task ILocalBackend.DownAsync(CancellationToken cancellationToken) => DownAsync(cancellationToken);

    Task<string?> ILocalBackend.LogoutAsync(CancellationToken cancellationToken) => LogoutAsync(cancellationToken);

    Task<NodePrefs> ILocalBackend.EditPrefsAsync(PrefsEdit edit, CancellationToken cancellationToken) => EditPrefsAsync(edit, cancellationToken);
}
