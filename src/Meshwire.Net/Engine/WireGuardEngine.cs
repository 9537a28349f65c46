using Meshwire.Core;
using Meshwire.Net.Tun;
using Meshwire.Net.Udp;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Device;
using Microsoft.Extensions.Logging;

namespace Meshwire.Net.Engine;

/// <summary>
/// A running userspace WireGuard interface: the sans-I/O <see cref="WireGuardDevice"/> driven by real I/O.
/// Threads and what flows between them:
///   outbound (one per TUN queue): TUN read → gate (flow tracking) → EncryptOutbound → UDP send (batched);
///   inbound (one per UDP socket):  UDP receive (batched) → ProcessInbound → gate (packet filter) → TUN write;
///                                  handshake messages are only copied onto the device's bounded HandshakeQueue
///                                  (or dropped when it is full), so transport packets never wait behind them;
///   handshake (one per two cores): HandshakeQueue → cookie checks, rate limit, Diffie-Hellman → answers by UDP;
///   timers (one):                  Tick every 100 ms → handshakes and keepalives through the UDP socket.
/// With several TUN queues the kernel keeps each flow on one queue, so sealing runs on several threads
/// without reordering a flow.
/// </summary>
public sealed partial class WireGuardEngine : IConfigurableDevice, IDisposable
{
    private const int BatchSize = 32;
    private const int BufferSize = WireGuardDevice.HeadRoom + ushort.MaxValue + WireGuardDevice.TailRoom;

    /// <summary>
    /// Handshake workers: half the cores, at least one. Under a flood they are busy by design, so they must leave
    /// the packet threads a core; one worker still answers thousands of legitimate handshakes a second.
    /// </summary>
    private static readonly int HandshakeWorkers = Math.Clamp(Environment.ProcessorCount / 2, 1, 4);

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _startTimestamp;
    private readonly TunDevice _tun;
    private readonly UdpTransport _udp;
    private readonly WireGuardDevice _device;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Thread> _threads = [];
    private readonly Lock _configLock = new();
    private readonly ManualResetEventSlim _handshakeQueued = new(false);
    private int _disposed;
    private IPacketGate? _gate;
    private IDatagramRouter? _router;
    private long _gateDrops;

    private WireGuardEngine(TunDevice tun, UdpTransport udp, TimeProvider time, ILogger logger)
    {
        _tun = tun;
        _udp = udp;
        _time = time;
        _logger = logger;
        _startTimestamp = time.GetTimestamp();
        _device = new WireGuardDevice(new UdpSender(udp, () => Volatile.Read(ref _router)), time)
        {
            Mtu = tun.Mtu,
            HandshakeQueue = new HandshakeQueue(),
        };
        _ = tun.Removed.ContinueWith(_ => _stoppedSource.TrySetResult(), TaskScheduler.Default);
    }

    public string InterfaceName => _tun.Name;

    public WireGuardDevice Device => _device;

    public ushort ListenPort => _udp.LocalPort;

    /// <summary>Checks plaintext packets in both directions (the packet filter); null lets everything through.</summary>
    public IPacketGate? Gate
    {
        get => Volatile.Read(ref _gate);
        set => Volatile.Write(ref _gate, value);
    }

    /// <summary>
    /// The path layer (direct or relayed per peer, discovery, STUN); null sends every datagram by UDP to the peer's
    /// endpoint, as plain WireGuard does. Set it before peers are added.
    /// </summary>
    public IDatagramRouter? Router
    {
        get => Volatile.Read(ref _router);
        set
        {
            Volatile.Write(ref _router, value);
            _device.EndpointMapper = value as IEndpointMapper;
        }
    }

    /// <summary>Sends a datagram of the path layer's own (discovery, STUN) from the engine's UDP socket.</summary>
    public void SendUdp(ReadOnlySpan<byte> datagram, EndpointAddress destination) => _udp.Send(datagram, destination);

    /// <summary>A WireGuard datagram that arrived another way (through a relay): opened, gated and written to TUN.</summary>
    public void DeliverInbound(Span<byte> datagram, EndpointAddress source) =>
        Deliver(_tun.Queue(0), Volatile.Read(ref _gate), datagram, source, Now);

    /// <summary>Starts the peer's unanswered handshake again after <paramref name="minimumAge"/>, once (see WireGuardDevice.ExpediteHandshake).</summary>
    public bool ExpediteHandshake(NodePublicKey peer, TimeSpan minimumAge) => _device.ExpediteHandshake(peer, minimumAge, Now);

    /// <summary>Decrypted packets the gate refused.</summary>
    public long GateDrops => Interlocked.Read(ref _gateDrops);

    /// <summary>Completes when the interface goes away or the engine is disposed.</summary>
    public Task Stopped => _stoppedSource.Task;

    private readonly TaskCompletionSource _stoppedSource = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates the TUN interface and the UDP socket (random port until configured) and starts the threads.</summary>
    public static WireGuardEngine Start(string interfaceName, ILogger logger, TimeProvider? time = null, int? queues = null)
    {
        var queueCount = queues ?? Math.Clamp(Environment.ProcessorCount, 1, 4);
        var tun = TunDevice.Create(interfaceName, queueCount);
        UdpTransport? udp = null;
        try
        {
            udp = UdpTransport.Open(0);
            var engine = new WireGuardEngine(tun, udp, time ?? TimeProvider.System, logger);
            engine.StartThreads(queueCount);
            return engine;
        }
        catch
        {
            udp?.Dispose();
            tun.Dispose();
            throw;
        }
    }

    private TimeSpan Now => _time.GetElapsedTime(_startTimestamp);

    private void StartThreads(int queueCount)
    {
        for (var i = 0; i < queueCount; i++)
        {
            var queue = _tun.Queue(i);
            StartThread($"wg-out-{i}", () => OutboundLoop(queue));
        }

        StartThread("wg-in", InboundLoop);
        for (var i = 0; i < HandshakeWorkers; i++)
        {
            StartThread($"wg-handshake-{i}", HandshakeLoop);
        }

        StartThread("wg-timers", TimerLoop);
    }

    private void StartThread(string name, Action body)
    {
        var thread = new Thread(() =>
        {
            try
            {
                body();
            }
            catch (Exception ex) when (Volatile.Read(ref _disposed) == 0)
            {
                Log.ThreadFailed(_logger, name, ex);
                _stoppedSource.TrySetResult();
            }
            catch (Exception)
            {
                // Shutting down: sockets and queues were closed under the thread.
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        _threads.Add(thread);
        thread.Start();
    }

    public DeviceStatus GetStatus() =>
        new(_device.PrivateKey, _udp.LocalPort, _udp.FirewallMark, _device.GetPeerStatuses());

    public int Apply(DeviceConfigUpdate update)
    {
        lock (_configLock)
        {
            // Socket changes go first: if the port is taken nothing else changes.
            if (update.ListenPort is { } port && port != _udp.LocalPort)
            {
                var errno = _udp.Rebind(port);
                if (errno != 0)
                {
                    return errno;
                }
            }

            if (update.FirewallMark is { } mark)
            {
                var errno = _udp.SetFirewallMark(mark);
                if (errno != 0)
                {
                    return errno;
                }
            }

            _device.ApplyConfig(update, Now);
            return 0;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _udp.Dispose();
        _tun.Dispose();
        foreach (var thread in _threads)
        {
            thread.Join(TimeSpan.FromSeconds(2));
        }

        _stoppedSource.TrySetResult();
        _stopping.Dispose();

        // _handshakeQueued stays undisposed: a relay thread may still deliver a datagram and Set it; without a
        // WaitHandle ever taken from it, it holds nothing to free.
    }

    /// <summary>Lets the device send handshakes and keepalives through the engine's socket.</summary>
    private sealed class UdpSender(UdpTransport udp, Func<IDatagramRouter?> router) : IDatagramSender
    {
        public void Send(ReadOnlySpan<byte> datagram, EndpointAddress destination)
        {
            if (router() is { } r && !r.Route(datagram, ref destination))
            {
                return;
            }

            udp.Send(datagram, destination);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Thread {Thread} failed; shutting the interface down")]
        public static partial void ThreadFailed(ILogger logger, string thread, Exception exception);
    }
}
