using Meshwire.Control.Client;
using Microsoft.Extensions.Logging;

namespace Meshwire.Daemon;

/// <summary>
/// Hands start-up garbage back to the OS once the daemon has settled. Start-up (the LocalAPI host, registration, the
/// first map, the first path probes) allocates far more than the daemon keeps, and with a gen0 budget that fits
/// between collections it would all stay resident until the next one, which an idle daemon may not reach for hours.
/// So: once the first map has been applied and no further map has arrived for <see cref="Settle"/>, one aggressive
/// collection (full, compacting, decommitting free regions; a forced one returns nothing to the OS). Later maps never
/// trigger it again. Figures in docs/performance.md ("meshwired idle memory").
/// </summary>
internal sealed partial class StartupTrim : IDisposable
{
    /// <summary>How long the map stream must stay quiet after a map before the trim runs.</summary>
    internal static readonly TimeSpan Settle = TimeSpan.FromSeconds(5);

    private readonly Meshwire.Agent.Agent _agent;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private int _done;

    public StartupTrim(Meshwire.Agent.Agent agent, TimeProvider time, ILogger logger)
    {
        _agent = agent;
        _logger = logger;
        _timer = time.CreateTimer(_ => Trim(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        agent.NetmapApplied += OnNetmapApplied;
    }

    // Each map before the trim pushes it back, so a burst of maps at start-up ends in one collection.
    private void OnNetmapApplied(NetmapView map)
    {
        if (Volatile.Read(ref _done) == 0)
        {
            _timer.Change(Settle, Timeout.InfiniteTimeSpan);
        }
    }

    private void Trim()
    {
        if (Interlocked.Exchange(ref _done, 1) != 0)
        {
            return;
        }

        _agent.NetmapApplied -= OnNetmapApplied;
        var before = GC.GetTotalMemory(forceFullCollection: false);
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Log.Trimmed(_logger, before, GC.GetTotalMemory(forceFullCollection: false));
    }

    public void Dispose()
    {
        _agent.NetmapApplied -= OnNetmapApplied;
        _timer.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(60, LogLevel.Debug, "Start-up trim: managed heap {Before} -> {After} bytes")]
        public static partial void Trimmed(ILogger logger, long before, long after);
    }
}
