using Meshwire.Agent.State;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Agent.Tests;

/// <summary>
/// Base of the tests that run agents against a real control server on loopback with a fake engine: starts control,
/// starts agents in temporary state directories, and stops and removes everything afterwards.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public abstract class AgentLab : IAsyncLifetime
{
    private readonly List<string> _directories = [];
    private readonly List<(CancellationTokenSource Stop, Task Run)> _running = [];

    private protected ControlHost Control { get; private set; } = null!;

    public async Task InitializeAsync() => Control = await ControlHost.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var (stop, run) in _running)
        {
            await stop.CancelAsync();
            await run;
        }

        await Control.DisposeAsync();
        foreach (var directory in _directories)
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Reconnect backoff for agents in tests: fast, so control outages resolve in well under a second.</summary>
    protected static readonly TimeSpan FastBackoff = TimeSpan.FromMilliseconds(100);

    protected static readonly TimeSpan MaxFastBackoff = TimeSpan.FromMilliseconds(400);

    /// <summary>Starts an agent on <paramref name="state"/> (a new temporary directory when null).</summary>
    private protected Node StartAgent(string? state, AgentOptions options)
    {
        state ??= Directory.CreateTempSubdirectory("meshwire-agent").FullName;
        if (!_directories.Contains(state))
        {
            _directories.Add(state);
        }

        var store = NodeStateStore.Open(state);
        var engine = new FakeEngine();
        var iface = new FakeInterface();
        var agent = new Agent(store, engine, iface, options, NullLogger.Instance);
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => agent.RunAsync(stop.Token));
        _running.Add((stop, run));
        return new Node(agent, engine, iface, store, stop, run);
    }

    private protected async Task StopAsync(Node node)
    {
        await node.Stop.CancelAsync();
        await node.Run;
        _running.RemoveAll(r => r.Run == node.Run);
    }

    private protected sealed record Node(Agent Agent, FakeEngine Engine, FakeInterface Interface, NodeStateStore Store, CancellationTokenSource Stop, Task Run);
}
