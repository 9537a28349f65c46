using Meshwire.Agent.State;
using Meshwire.Agent.Translation;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.WireGuard.Config;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent;

/// <summary>Refused by control in a way retrying cannot fix; the loop stops and the state becomes NeedsLogin.</summary>
internal sealed class LoginRefusedException(string message) : Exception(message);

/// <summary>A lifecycle request that cannot be carried out as asked (e.g. up without any login server); the LocalAPI answers 400.</summary>
public sealed class AgentCommandException(string message) : Exception(message);

/// <summary>What <c>meshwire up</c> asks for; null fields keep what the prefs hold.</summary>
public sealed record UpRequest
{
    public Uri? LoginServer { get; init; }

    public string? AuthKey { get; init; }

    public string? Hostname { get; init; }

    public IReadOnlyList<string>? AdvertiseTags { get; init; }
}

/// <summary>A change of prefs (PATCH prefs); null fields are left alone.</summary>
public sealed record PrefsEdit
{
    public Uri? LoginServer { get; init; }

    public string? Hostname { get; init; }

    public bool? WantRunning { get; init; }

    public IReadOnlyList<string>? AdvertiseTags { get; init; }
}

// Lifecycle: up / down / logout / prefs, and the backend state they move through (see BackendState).
// Invariant: every lifecycle step holds _lifecycle, and stops the control loop (awaiting its task) before it touches
// the engine or the interface, so only one flow configures them at a time.
public sealed partial class Agent
{
    // Serializes lifecycle steps; guards _loop, _loopStop, _authKey and _lifetime.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private CancellationTokenSource? _loopStop;
    private Task _loop = Task.CompletedTask;
    private CancellationToken _lifetime;

    // The auth key of the last up, kept in memory so a renewal failure can still fall back to it.
    private string? _authKey;

    // Guards the four fields below; _stateChanged is completed and replaced on each change.
    private readonly Lock _stateLock = new();
    private BackendState _state = BackendState.NoState;
    private string? _authUrl;
    private string? _lastError;
    private TaskCompletionSource _stateChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Raised (on whichever flow changed it) after the backend state changed.</summary>
    public event Action<BackendState>? StateChanged;

    public BackendState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    /// <summary>The login URL while the state is NeedsLogin because control asked for an interactive login.</summary>
    public string? AuthUrl
    {
        get
        {
            lock (_stateLock)
            {
                return _authUrl;
            }
        }
    }

    /// <summary>The last failure to reach or register with control; cleared when a map arrives or a new up starts.</summary>
    public string? LastError
    {
        get
        {
            lock (_stateLock)
            {
                return _lastError;
            }
        }
    }

    public NodePrefs Prefs => _store.LoadPrefs();

    /// <summary>
    /// Stores what <paramref name="request"/> asks (want-running, login server, hostname, tags) and (re)starts the
    /// control loop when it is not running or something it uses changed. Returns once the loop is started; see
    /// <see cref="WaitForSettledAsync"/> to wait for its outcome.
    /// </summary>
    public async Task UpAsync(UpRequest request, CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await UpLockedAsync(request);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Want-running off: leaves control, removes the peers and interface addresses; keys and registration stay.</summary>
    public async Task DownAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            _store.SavePrefs(_store.LoadPrefs() with { WantRunning = false });
            await StopLoopAsync();
            var removed = ClearEngine();
            Log.Down(_logger, removed);
            ResetState(BackendState.Stopped, null);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Tells control to log this node out, then forgets the registration, the pending auth key and the cached map
    /// (the keys stay). Returns null when control confirmed, else why it could not be told (the node is logged out
    /// locally either way).
    /// </summary>
    public async Task<string?> LogoutAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StopLoopAsync();
            ClearEngine();
            var prefs = _store.LoadPrefs();
            var warning = await TellControlLogoutAsync(prefs, cancellationToken);
            _store.SavePrefs(prefs with { Registered = false, AuthKey = null, WantRunning = false });
            _store.DeleteNetmap();
            _authKey = null;
            Log.LoggedOut(_logger, warning is null);
            ResetState(BackendState.NeedsLogin, null);
            return warning;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Applies a prefs change live: want-running starts or stops the loop; a new server or name restarts it.</summary>
    public async Task<NodePrefs> EditPrefsAsync(PrefsEdit edit, CancellationToken cancellationToken = default)
    {
        if (edit.WantRunning == true)
        {
            await UpAsync(new UpRequest { LoginServer = edit.LoginServer, Hostname = edit.Hostname, AdvertiseTags = edit.AdvertiseTags }, cancellationToken);
            return _store.LoadPrefs();
        }

        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            var prefs = _store.LoadPrefs();
            var next = WithServer(prefs, edit.LoginServer) with
            {
                Hostname = edit.Hostname ?? prefs.Hostname,
                AdvertiseTags = edit.AdvertiseTags ?? prefs.AdvertiseTags,
                WantRunning = edit.WantRunning ?? prefs.WantRunning,
            };
            _store.SavePrefs(next);
            if (edit.WantRunning == false && prefs.WantRunning)
            {
                await StopLoopAsync();
                ClearEngine();
                ResetState(BackendState.Stopped, null);
            }
            else if (next.WantRunning && (next.LoginServer != prefs.LoginServer || next.Hostname != prefs.Hostname
                || !(next.AdvertiseTags ?? []).SequenceEqual(prefs.AdvertiseTags ?? [])))
            {
                await RestartLoopAsync();
            }

            return next;
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Waits until the state settles (Running, NeedsLogin, NeedsMachineAuth, Stopped, or a control error was
    /// reported) or <paramref name="timeout"/> passes; returns the state then.
    /// </summary>
    public async Task<BackendState> WaitForSettledAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            Task changed;
            lock (_stateLock)
            {
                if (_state is not (BackendState.NoState or BackendState.Starting) || _lastError is not null)
                {
                    return _state;
                }

                changed = _stateChanged.Task;
            }

            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return State;
            }
        }
    }

    private async Task StartLifecycleAsync(CancellationToken lifetime)
    {
        await _lifecycle.WaitAsync(lifetime);
        try
        {
            _lifetime = lifetime;
            if (_options.LoginServer is { } unattended)
            {
                await UpLockedAsync(new UpRequest { LoginServer = unattended, AuthKey = _options.AuthKey, Hostname = _options.Hostname });
                return;
            }

            var prefs = _store.LoadPrefs();
            if (prefs.WantRunning && prefs.LoginServer is not null)
            {
                StartLoop();
            }
            else
            {
                ResetState(prefs.Registered ? BackendState.Stopped : BackendState.NeedsLogin, null);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task ShutdownLifecycleAsync()
    {
        await _lifecycle.WaitAsync();
        try
        {
            await StopLoopAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task UpLockedAsync(UpRequest request)
    {
        var prefs = _store.LoadPrefs();
        if (request.LoginServer is null && prefs.LoginServer is null)
        {
            throw new AgentCommandException("no login server known yet; give --login-server URL");
        }

        var next = WithServer(prefs, request.LoginServer) with
        {
            WantRunning = true,
            Hostname = request.Hostname ?? prefs.Hostname,
            AdvertiseTags = request.AdvertiseTags ?? prefs.AdvertiseTags,
        };
        if (request.AuthKey is not null)
        {
            // Kept until the first successful registration, so a restart before it still has the key.
            next = next with { AuthKey = request.AuthKey };
            _authKey = request.AuthKey;
        }

        _store.SavePrefs(next);
        var loopAlive = _loopStop is not null && !_loop.IsCompleted;
        if (!loopAlive || request.AuthKey is not null || next.LoginServer != prefs.LoginServer || next.Hostname != prefs.Hostname)
        {
            await RestartLoopAsync();
        }
    }

    /// <summary>A different server: its key is pinned anew and the node registers there from scratch.</summary>
    private static NodePrefs WithServer(NodePrefs prefs, Uri? server)
    {
        var text = server?.ToString();
        return text is null || text == prefs.LoginServer
            ? prefs
            : prefs with { LoginServer = text, ServerKey = null, Registered = false, AuthKey = null };
    }

    private async Task RestartLoopAsync()
    {
        await StopLoopAsync();
        StartLoop();
    }

    private void StartLoop()
    {
        _loopStop = CancellationTokenSource.CreateLinkedTokenSource(_lifetime);
        ResetState(Netmap is null ? BackendState.Starting : BackendState.Running, null);
        var token = _loopStop.Token;
        _loop = Task.Run(() => ControlLoopAsync(token), CancellationToken.None);
    }

    private async Task StopLoopAsync()
    {
        if (_loopStop is not { } stop)
        {
            return;
        }

        _loopStop = null;
        await stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            stop.Dispose();
            _connected = false;
        }
    }

    /// <summary>Removes every peer this agent put in the engine and its addresses from the interface; returns the peers removed.</summary>
    private int ClearEngine()
    {
        var removed = _appliedPeers.Count;
        if (removed > 0)
        {
            var update = new DeviceConfigUpdate();
            foreach (var key in _appliedPeers.Keys)
            {
                update.Peers.Add(new PeerConfigUpdate(key) { Remove = true });
            }

            var errno = _engine.Apply(update);
            if (errno != 0)
            {
                Log.EngineRefused(_logger, -errno);
            }
        }

        _appliedPeers = new Dictionary<NodePublicKey, EnginePeer>();
        if (_addressingApplied)
        {
            try
            {
                _interface.Apply(_appliedAddressing, InterfaceAddressing.None);
            }
            catch (InvalidOperationException e)
            {
                Log.InterfaceFailed(_logger, e.Message);
            }
        }

        _appliedAddressing = InterfaceAddressing.None;
        _addressingApplied = false;
        Volatile.Write(ref _netmap, null);
        return removed;
    }

    private async Task<string?> TellControlLogoutAsync(NodePrefs prefs, CancellationToken cancellationToken)
    {
        if (!prefs.Registered || prefs.LoginServer is null)
        {
            return null;
        }

        MachinePublicKey? pinned = prefs.ServerKey is { } hex && Key32.TryParseHex(hex, out var key) ? new MachinePublicKey(key) : null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.LogoutTimeout);
        try
        {
            await using var client = await ControlClient.ConnectAsync(new Uri(prefs.LoginServer), _store.Keys.MachineKey, pinned, _options.Time, timeout.Token);
            await client.LogoutAsync(_store.Keys.NodePublicKey, HostnameOf(prefs), timeout.Token);
            return null;
        }
        catch (Exception e) when (e is ControlProtocolException or HttpRequestException or System.Net.WebSockets.WebSocketException or IOException
            or System.Text.Json.JsonException or OperationCanceledException or InvalidOperationException)
        {
            return $"control was not told ({e.Message}); this node is logged out locally";
        }
    }

    /// <summary>Moves to <paramref name="state"/>, keeping the last error unless the state is Running.</summary>
    private void SetState(BackendState state, string? authUrl = null) => SetState(state, authUrl, keepError: true, error: null);

    /// <summary>Moves to <paramref name="state"/> and replaces the last error.</summary>
    private void ResetState(BackendState state, string? error) => SetState(state, authUrl: null, keepError: false, error);

    private void SetState(BackendState state, string? authUrl, bool keepError, string? error)
    {
        TaskCompletionSource changed;
        lock (_stateLock)
        {
            var sameAsBefore = _state == state && _authUrl == authUrl && (keepError || _lastError == error);
            _state = state;
            _authUrl = authUrl;
            if (!keepError || state == BackendState.Running)
            {
                _lastError = keepError ? null : error;
            }

            if (sameAsBefore)
            {
                return;
            }

            changed = _stateChanged;
            _stateChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
        StateChanged?.Invoke(state);
    }

    private void ReportError(string error)
    {
        TaskCompletionSource changed;
        lock (_stateLock)
        {
            _lastError = error;
            changed = _stateChanged;
            _stateChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }
}
