using System.Net.WebSockets;
using Meshwire.Agent.Filtering;
using Meshwire.Agent.Interface;
using Meshwire.Agent.State;
using Meshwire.Agent.Translation;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Config;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent;

/// <summary>
/// The daemon core: keeps the WireGuard engine configured from the control server's map.
/// Flow: start → engine gets the node key (and port) → cached netmap applied at once (tunnels up while control is
/// still silent or down) → loop { connect (Noise IK, machine key; server key pinned on first use) → register →
/// map stream: each full map or delta → NetmapView → diff → engine + interface, cache written → stream ends or
/// fails → wait (1 s doubling to 30 s, reset once a map arrived) }. The engine keeps its last config while control
/// is away, so established tunnels keep working.
/// The control loop runs as one task per up (Agent.Lifecycle.cs); up/down/logout are serialized and stop that task
/// before they touch the engine, so the engine is only ever configured from one flow at a time.
/// <see cref="Netmap"/> is a snapshot swapped atomically.
/// </summary>
public sealed partial class Agent
{
    private readonly NodeStateStore _store;
    private readonly IConfigurableDevice _engine;
    private readonly IInterfaceConfigurator _interface;
    private readonly AgentOptions _options;
    private readonly ILogger _logger;

    // Owned by the RunAsync flow.
    private IReadOnlyDictionary<NodePublicKey, EnginePeer> _appliedPeers = new Dictionary<NodePublicKey, EnginePeer>();
    private InterfaceAddressing _appliedAddressing = InterfaceAddressing.None;
    private bool _addressingApplied;
    private NetmapView? _netmap;
    private volatile bool _connected;

    public Agent(NodeStateStore store, IConfigurableDevice engine, IInterfaceConfigurator interfaceConfigurator, AgentOptions options, ILogger logger)
    {
        _store = store;
        _engine = engine;
        _interface = interfaceConfigurator;
        _options = options;
        _logger = logger;
    }

    /// <summary>The map last applied to the engine (from control or from the cache); null before the first.</summary>
    public NetmapView? Netmap => Volatile.Read(ref _netmap);

    /// <summary>The inbound packet filter from the map; the host installs it as the engine's gate.</summary>
    public FilterGate Filter { get; } = new();

    /// <summary>True while a map stream is open.</summary>
    public bool Connected => _connected;

    /// <summary>Raised on the agent's flow after each map is applied.</summary>
    public event Action<NetmapView>? NetmapApplied;

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> fires: configures the engine, does the unattended up of
    /// <see cref="AgentOptions.LoginServer"/> or resumes what the prefs want, then serves up/down/logout
    /// (Agent.Lifecycle.cs) until stopped.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        ConfigureEngine();
        await StartLifecycleAsync(cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await ShutdownLifecycleAsync();
    }

    /// <summary>The control loop (one per up): cached map first, then sessions with backoff until cancelled or refused.</summary>
    private async Task ControlLoopAsync(CancellationToken cancellationToken)
    {
        if (Netmap is null && _store.LoadNetmap() is { } cached)
        {
            Log.CachedNetmap(_logger, cached.Peers.Count);
            Apply(cached, save: false);
            SetState(BackendState.Running);
        }

        var backoff = _options.MinBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            var gotMap = false;
            using var session = BeginSession(cancellationToken);
            try
            {
                gotMap = await SessionAsync(session.Token);
                Log.StreamEnded(_logger);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (LoginRefusedException e)
            {
                // Retrying cannot help: the key is spent or wrong; a new up (or login) must come.
                Log.LoginRefused(_logger, e.Message);
                ResetState(BackendState.NeedsLogin, e.Message);
                return;
            }
            catch (Exception e) when (e is ControlProtocolException or HttpRequestException or WebSocketException or IOException or System.Text.Json.JsonException
                or OperationCanceledException or InvalidOperationException)
            {
                Log.ControlFailed(_logger, e.Message);
                ReportError(e.Message);
                if (e is ControlProtocolException { RetryAfter: { } retryAfter })
                {
                    // Rate limited by control: come back no sooner than it asked.
                    gotMap = false;
                    backoff = TimeSpan.FromTicks(Math.Max(backoff.Ticks, retryAfter.Ticks));
                }
            }
            finally
            {
                _connected = false;
            }

            backoff = gotMap ? _options.MinBackoff : backoff;
            try
            {
                // ±20 % jitter: nodes that lost control together do not all come back in the same instant.
                await Task.Delay(backoff * (0.8 + (0.4 * Random.Shared.NextDouble())), _options.Time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        }
    }

    private void ConfigureEngine()
    {
        var update = new DeviceConfigUpdate { PrivateKey = _store.Keys.NodeKey, ListenPort = _options.ListenPort };
        var errno = _engine.Apply(update);
        if (errno != 0)
        {
            throw new InvalidOperationException($"the WireGuard engine refused its key or port {_options.ListenPort} (errno {-errno})");
        }
    }

    /// <summary>One connection: connect, register, stream until the channel ends. True when at least one map arrived.</summary>
    private async Task<bool> SessionAsync(CancellationToken cancellationToken)
    {
        var prefs = _store.LoadPrefs();
        var server = new Uri(prefs.LoginServer ?? throw new LoginRefusedException("no login server is set; run meshwire up --login-server URL"));
        MachinePublicKey? pinned = prefs.ServerKey is { } hex && Key32.TryParseHex(hex, out var key) ? new MachinePublicKey(key) : null;

        await using var client = await ControlClient.ConnectAsync(server, _store.Keys.MachineKey, pinned, _options.Time, cancellationToken);
        if (pinned is null)
        {
            prefs = prefs with { ServerKey = client.ServerKey.Value.ToHex() };
            _store.SavePrefs(prefs);
        }

        var hostname = HostnameOf(prefs);
        var result = await RegisterAsync(client, prefs, hostname, cancellationToken);
        while (!result.Authorized && result.AuthUrl is { } url)
        {
            // The server pushes the result on this channel once the user logged in; if the channel ends first,
            // the loop reconnects and registering again returns the same URL.
            Log.NeedsLogin(_logger, url);
            SetState(BackendState.NeedsLogin, url);
            result = await client.WaitForLoginAsync(cancellationToken);
        }

        if (!result.Authorized)
        {
            if (result.NeedsApproval)
            {
                Log.NeedsApproval(_logger);
                SetState(BackendState.NeedsMachineAuth);
            }

            return false;
        }

        if (!prefs.Registered || prefs.AuthKey is not null || prefs.Hostname != hostname)
        {
            _store.SavePrefs(prefs with { Registered = true, AuthKey = null, Hostname = hostname });
        }

        // An auth key is spent on one registration: a node an admin deletes later must not re-register by itself
        // (it waits in NeedsLogin for the next `meshwire up --authkey`, or a daemon restarted with the key).
        Volatile.Write(ref _authKey, null);

        if (State != BackendState.Running)
        {
            SetState(BackendState.Starting);
        }

        Log.Registered(_logger, result.NodeId ?? "?", _store.Keys.NodePublicKey.ToString());
        var request = new MapRequest
        {
            NodeKey = _store.Keys.NodePublicKey,
            DiscoKey = _store.Keys.DiscoPublicKey,
            Endpoints = Router?.LocalEndpointStrings ?? _options.Endpoints(_engine.GetStatus().ListenPort),
            HomeRelay = Router?.HomeRelay ?? 0,
        };
        using var refresh = StartPathRefresh(client, request, cancellationToken);

        NetmapView? view = null;
        await foreach (var message in client.StreamMapAsync(request, cancellationToken))
        {
            _connected = true;
            if (message is MapFull full)
            {
                view = NetmapView.From(full);
            }
            else if (view is null)
            {
                throw new InvalidOperationException($"the stream began with {message.GetType().Name} instead of a full map");
            }
            else
            {
                view = view.Apply(message);
            }

            if (message is not KeepAlive)
            {
                Apply(view, save: true);
                SetState(BackendState.Running);
            }
        }

        return view is not null;
    }

    /// <summary>
    /// Renews a known registration without spending the auth key; falls back to the auth key. A refusal that no
    /// retry can fix (bad or spent key, expired node key without a new one) becomes <see cref="LoginRefusedException"/>.
    /// </summary>
    private async Task<RegisterResult> RegisterAsync(ControlClient client, NodePrefs prefs, string hostname, CancellationToken cancellationToken)
    {
        var authKey = _authKey ?? prefs.AuthKey;
        var renewal = new RegisterRequest { NodeKey = _store.Keys.NodePublicKey, Hostname = hostname, Tags = prefs.AdvertiseTags };
        try
        {
            if (prefs.Registered || authKey is null)
            {
                try
                {
                    var renewed = await client.RegisterAsync(renewal, _store.Keys.NodeKey, cancellationToken);
                    if (renewed.Authorized || authKey is null)
                    {
                        return renewed;
                    }
                }
                catch (ControlProtocolException) when (authKey is not null)
                {
                    // Unknown or expired here: the auth key below decides.
                }
            }

            return await client.RegisterAsync(renewal with { AuthKey = authKey }, _store.Keys.NodeKey, cancellationToken);
        }
        catch (ControlProtocolException e) when (IsLoginRefusal(e.Code))
        {
            throw new LoginRefusedException(e.Message);
        }
    }

    private static bool IsLoginRefusal(string code) => code is ErrorCodes.AuthKeyInvalid or ErrorCodes.AuthKeyExpired or ErrorCodes.AuthKeyUsed
        or ErrorCodes.Unauthorized or ErrorCodes.NodeKeyExpired or ErrorCodes.UnknownMachine or ErrorCodes.TagNotOwned
        or ErrorCodes.NodeKeyProofMissing or ErrorCodes.NodeKeyProofInvalid or ErrorCodes.WeakKey;

    private string HostnameOf(NodePrefs prefs) => prefs.Hostname ?? _options.Hostname ?? Environment.MachineName;

    private void Apply(NetmapView view, bool save)
    {
        try
        {
            if (Filter.Update(view.PacketFilter))
            {
                Log.FilterApplied(_logger, view.PacketFilter.Count);
            }
        }
        catch (FormatException e)
        {
            // Keep the filter in force: a rule this agent cannot read must not open anything.
            Log.FilterRefused(_logger, e.Message);
        }

        var wanted = NetmapTranslator.PeersOf(view, Router?.SetNetmap(view));
        if (NetmapTranslator.Diff(_appliedPeers, wanted) is { } update)
        {
            var errno = _engine.Apply(update);
            if (errno != 0)
            {
                Log.EngineRefused(_logger, -errno);
            }
            else
            {
                _appliedPeers = wanted;
                Log.PeersApplied(_logger, wanted.Count, update.Peers.Count);
            }
        }

        var addressing = NetmapTranslator.AddressingOf(view.Self);
        if (!_addressingApplied || !addressing.Addresses.SequenceEqual(_appliedAddressing.Addresses) || !addressing.Routes.SequenceEqual(_appliedAddressing.Routes))
        {
            try
            {
                _interface.Apply(_appliedAddressing, addressing);
                _appliedAddressing = addressing;
                _addressingApplied = true;
            }
            catch (InvalidOperationException e)
            {
                Log.InterfaceFailed(_logger, e.Message);
            }
        }

        if (save)
        {
            try
            {
                _store.SaveNetmap(view);
            }
            catch (IOException e)
            {
                Log.CacheFailed(_logger, e.Message);
            }
        }

        Volatile.Write(ref _netmap, view);
        NetmapApplied?.Invoke(view);
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Applying the cached netmap ({Peers} peers) until control answers")]
        public static partial void CachedNetmap(ILogger logger, int peers);

        [LoggerMessage(2, LogLevel.Information, "Registered as node {NodeId} with {NodeKey}")]
        public static partial void Registered(ILogger logger, string nodeId, string nodeKey);

        [LoggerMessage(3, LogLevel.Warning, "Control unreachable or refused: {Reason}; keeping the last config and retrying")]
        public static partial void ControlFailed(ILogger logger, string reason);

        [LoggerMessage(4, LogLevel.Information, "The map stream ended; reconnecting")]
        public static partial void StreamEnded(ILogger logger);

        [LoggerMessage(5, LogLevel.Warning, "To log in, visit {Url}")]
        public static partial void NeedsLogin(ILogger logger, string url);

        [LoggerMessage(6, LogLevel.Warning, "Registered; waiting for an admin to approve this node (meshwire-control nodes approve)")]
        public static partial void NeedsApproval(ILogger logger);

        [LoggerMessage(7, LogLevel.Error, "The WireGuard engine refused the peer update (errno {Errno})")]
        public static partial void EngineRefused(ILogger logger, int errno);

        [LoggerMessage(8, LogLevel.Information, "Engine has {Peers} peers ({Changes} changed)")]
        public static partial void PeersApplied(ILogger logger, int peers, int changes);

        [LoggerMessage(9, LogLevel.Error, "Cannot configure the interface: {Reason}")]
        public static partial void InterfaceFailed(ILogger logger, string reason);

        [LoggerMessage(10, LogLevel.Warning, "Cannot write the netmap cache: {Reason}")]
        public static partial void CacheFailed(ILogger logger, string reason);

        [LoggerMessage(11, LogLevel.Error, "Control refused the login: {Reason}; waiting for meshwire up")]
        public static partial void LoginRefused(ILogger logger, string reason);

        [LoggerMessage(12, LogLevel.Information, "Down: left control, removed {Peers} peers and the interface addresses")]
        public static partial void Down(ILogger logger, int peers);

        [LoggerMessage(13, LogLevel.Information, "Logged out (control told: {Told})")]
        public static partial void LoggedOut(ILogger logger, bool told);

        [LoggerMessage(14, LogLevel.Information, "Packet filter has {Rules} rules")]
        public static partial void FilterApplied(ILogger logger, int rules);

        [LoggerMessage(15, LogLevel.Error, "The map's packet filter cannot be read ({Reason}); keeping the previous filter")]
        public static partial void FilterRefused(ILogger logger, string reason);
    }
}
