using System.Net.NetworkInformation;

namespace Meshwire.Agent.Paths;

/// <summary>
/// Notices when this machine's own addresses change (a new DHCP lease, another Wi-Fi, a cable pulled): the kernel's
/// address notifications (NetworkChange, netlink on Linux) are debounced and compared with the previous set of
/// interface addresses (the tailnet interface excluded, whose own changes are the agent's doing), and
/// <see cref="Changed"/> fires once per real change. Connections bound to a vanished address (relays, control)
/// then must be made again, and discovery must start over: roaming without user action.
/// </summary>
public sealed class LinkMonitor : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(300);

    private readonly string _excludeInterface;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private string _last;

    public LinkMonitor(string excludeInterface)
    {
        _excludeInterface = excludeInterface;
        _last = Snapshot();
        _timer = new Timer(_ => Check(), null, Timeout.Infinite, Timeout.Infinite);
        NetworkChange.NetworkAddressChanged += OnKernelEvent;
    }

    /// <summary>Raised on a thread-pool thread after the set of local addresses changed.</summary>
    public event Action? Changed;

    public void Dispose()
    {
        NetworkChange.NetworkAddressChanged -= OnKernelEvent;
        _timer.Dispose();
    }

    private void OnKernelEvent(object? sender, EventArgs e) => _timer.Change(Debounce, Timeout.InfiniteTimeSpan);

    private void Check()
    {
        var now = Snapshot();
        lock (_lock)
        {
            if (now == _last)
            {
                return;
            }

            _last = now;
        }

        Changed?.Invoke();
    }

    private string Snapshot() => string.Join(' ', LocalEndpoints.Discover(0, _excludeInterface).Order(StringComparer.Ordinal));
}
