using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// A TCP echo listener inside a node's namespace, run by the test process: the socket is created in the
/// namespace (setns on a helper thread) and keeps living there. Each connection gets its lines echoed back,
/// so a successful probe proves packets flowed both ways through the tunnel.
/// </summary>
internal sealed class TcpEchoListener : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _accepted = [];
    private int _connections;

    public TcpEchoListener(NetNamespace ns, int port)
    {
        Port = port;
        _listener = ns.CreateSocket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
        _listener.DualMode = true;
        _listener.Bind(new IPEndPoint(IPAddress.IPv6Any, port));
        _listener.Listen(16);
        _ = AcceptLoopAsync();
    }

    public int Port { get; }

    /// <summary>Connections accepted so far (a denied probe must not have reached the listener).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The source address and port of every accepted connection, IPv4 ones unmapped (what whois is asked about).</summary>
    public IReadOnlyList<IPEndPoint> Remotes
    {
        get
        {
            lock (_accepted)
            {
                return [.. _accepted.Select(s => s.RemoteEndPoint).OfType<IPEndPoint>()
                    .Select(e => e.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(e.Address.MapToIPv4(), e.Port) : e)];
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        lock (_accepted)
        {
            foreach (var s in _accepted)
            {
                s.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                lock (_accepted)
                {
                    _accepted.Add(socket);
                }

                _ = EchoAsync(socket);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Disposed.
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[4096];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The peer or the lab closed it.
        }
    }
}

/// <summary>The outcome of a TCP probe: connected and echoed, or why not, and how long it took.</summary>
internal sealed record TcpProbeResult(bool Succeeded, TimeSpan Elapsed, string Detail)
{
    public override string ToString() => $"{(Succeeded ? "ok" : "failed")} in {Elapsed.TotalMilliseconds:F0} ms: {Detail}";
}

/// <summary>A TCP connection opened from inside a node's namespace; <see cref="EchoAsync"/> proves it still carries data.</summary>
internal sealed class TcpEchoClient : IDisposable
{
    private readonly Socket _socket;

    private TcpEchoClient(Socket socket) => _socket = socket;

    public static async Task<(TcpEchoClient? Client, TcpProbeResult Result)> ConnectAsync(NetNamespace ns, IPAddress address, int port, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var socket = ns.CreateSocket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        var client = new TcpEchoClient(socket);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(new IPEndPoint(address, port), cts.Token);
            var echo = await client.EchoAsync(timeout - clock.Elapsed);
            if (!echo.Succeeded)
            {
                client.Dispose();
                return (null, echo with { Elapsed = clock.Elapsed });
            }

            return (client, new TcpProbeResult(true, clock.Elapsed, $"connected to {address}:{port} and echoed"));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            client.Dispose();
            var why = e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds} s" : e.Message;
            return (null, new TcpProbeResult(false, clock.Elapsed, $"{address}:{port}: {why}"));
        }
    }

    /// <summary>Sends a line and waits for the listener to echo it back.</summary>
    public async Task<TcpProbeResult> EchoAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var line = Encoding.ASCII.GetBytes($"meshwire lab {Guid.NewGuid():N}\n");
        var received = new byte[line.Length];
        try
        {
            using var cts = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.FromMilliseconds(1));
            await _socket.SendAsync(line, SocketFlags.None, cts.Token);
            var total = 0;
            while (total < received.Length)
            {
                var n = await _socket.ReceiveAsync(received.AsMemory(total), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return new TcpProbeResult(false, clock.Elapsed, "closed by the peer before the echo");
                }

                total += n;
            }

            return line.AsSpan().SequenceEqual(received)
                ? new TcpProbeResult(true, clock.Elapsed, "echoed")
                : new TcpProbeResult(false, clock.Elapsed, "echo differs from what was sent");
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return new TcpProbeResult(false, clock.Elapsed, e is OperationCanceledException ? $"no echo within {timeout.TotalSeconds} s" : e.Message);
        }
    }

    public void Dispose() => _socket.Dispose();
}
