using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Relay.Frames;
using Xunit.Abstractions;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The relay's figures for docs/relay.md: throughput between two clients and RSS per idle connection.
/// Heavy (10k sockets, seconds of load), so they run only with MESHWIRE_RELAY_LOAD=1. Loopback only.
/// The relay runs as its own process (the meshwire-relay host next to this assembly) so its RSS is its own.
/// </summary>
public sealed class RelayLoadTests(ITestOutputHelper output)
{
    private const int IdleConnections = 10_000;

    [LoadFact]
    public async Task Throughput_TwoClientsOnLoopback_Report()
    {
        using var relay = await RelayProcess.StartAsync("--queue 256");
        await using var sender = new RelayClient(relay.Url, RelayKeys.GenerateNodeKey(), new RelayClientOptions { SendQueueCapacity = 1024 });
        await using var receiver = new RelayClient(relay.Url, RelayKeys.GenerateNodeKey());
        await sender.ConnectAsync();
        await receiver.ConnectAsync();

        // Flat out (the relay drops what the receiver cannot take), then with at most 256 packets in flight
        // (the lossless rate: what a congestion-controlled flow through the relay can get).
        foreach (var (size, window) in new[] { (1400, long.MaxValue), (1400, 256L), (64, long.MaxValue), (64, 256L) })
        {
            var packet = new byte[size];
            long received = 0;
            using var stop = new CancellationTokenSource();
            var pump = Task.Run(async () =>
            {
                var buffer = new byte[2048];
                try
                {
                    while (true)
                    {
                        if ((await receiver.ReceiveAsync(buffer, stop.Token)).Kind == RelayMessageKind.Packet)
                        {
                            Interlocked.Increment(ref received);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });

            var duration = TimeSpan.FromSeconds(5);
            var clock = Stopwatch.StartNew();
            long sent = 0;
            while (clock.Elapsed < duration)
            {
                if (sent - Interlocked.Read(ref received) >= window)
                {
                    await Task.Yield();
                    continue;
                }

                await sender.SendAsync(receiver.PublicKey, packet);
                sent++;
            }

            await Task.Delay(200);
            var seconds = clock.Elapsed.TotalSeconds;
            await stop.CancelAsync();
            await pump;
            var count = Interlocked.Read(ref received);
            output.WriteLine($"{size}-byte packets, window {(window == long.MaxValue ? "none" : window.ToString(System.Globalization.CultureInfo.InvariantCulture))}: sent {sent / seconds:F0}/s, relayed {count / seconds:F0} packets/s, {count * size * 8 / seconds / 1e6:F0} Mbit/s, delivered {100.0 * count / sent:F1}%");
        }
    }

    [LoadFact]
    public async Task IdleConnections_TenThousand_RssPerConnectionUnder64KB()
    {
        using var relay = await RelayProcess.StartAsync("");
        var sockets = new List<Socket>(IdleConnections);
        try
        {
            // Warm up code paths and pools before the baseline, so the figure is the per-connection cost only.
            for (var i = 0; i < 50; i++)
            {
                sockets.Add(await HandshakeAsync(relay.Url));
            }

            await Task.Delay(1000);
            var baseline = relay.RssBytes();
            var clock = Stopwatch.StartNew();
            using var gate = new SemaphoreSlim(64);
            var batch = new List<Task<Socket>>();
            for (var i = sockets.Count; i < IdleConnections; i++)
            {
                await gate.WaitAsync();
                batch.Add(Task.Run(async () =>
                {
                    try
                    {
                        return await HandshakeAsync(relay.Url);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            sockets.AddRange(await Task.WhenAll(batch));
            var connectTime = clock.Elapsed;
            await Task.Delay(3000);
            var loaded = relay.RssBytes();
            var perConnection = (double)(loaded - baseline) / (IdleConnections - 50);
            output.WriteLine($"{IdleConnections} idle connections in {connectTime.TotalSeconds:F1} s: RSS {baseline / 1048576.0:F1} MiB -> {loaded / 1048576.0:F1} MiB, {perConnection / 1024:F1} KiB per connection");
            Assert.True(perConnection < 64 * 1024, $"{perConnection / 1024:F1} KiB per idle connection");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    // The smallest well-behaved client: upgrade, key proof, then silence.
    private static async Task<Socket> HandshakeAsync(Uri url)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, url.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /relay HTTP/1.1\r\nHost: {url.Authority}\r\nConnection: Upgrade\r\nUpgrade: meshwire-relay\r\n\r\n"));
        var buffer = new byte[1024];
        var have = 0;
        var headEnd = -1;
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(have));
            Assert.True(n > 0, "relay closed during upgrade");
            have += n;
            headEnd = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0 && have >= headEnd + 4 + RelayProtocol.FrameHeaderLength + RelayProtocol.ServerKeyPayloadLength)
            {
                break;
            }
        }

        var frame = buffer.AsSpan(headEnd + 4, have - headEnd - 4);
        Assert.Equal(FrameReadStatus.Frame, FrameReader.TryRead(frame, out _, out var payload, out _));
        Assert.True(RelayFrames.TryParseServerKey(payload, out var serverKey, out var challenge));
        var info = new byte[ClientProof.FrameLength];
        ClientProof.WriteClientInfo(info, RelayKeys.GenerateNodeKey(), serverKey, challenge, null);
        await socket.SendAsync(info);
        var serverInfo = new byte[RelayProtocol.FrameHeaderLength + RelayProtocol.ServerInfoPayloadLength];
        var got = 0;
        while (got < serverInfo.Length)
        {
            var n = await socket.ReceiveAsync(serverInfo.AsMemory(got));
            Assert.True(n > 0, "relay refused the handshake");
            got += n;
        }

        return socket;
    }

    private sealed class RelayProcess : IDisposable
    {
        private readonly Process _process;

        private RelayProcess(Process process, Uri url)
        {
            _process = process;
            Url = url;
        }

        public Uri Url { get; }

        public static async Task<RelayProcess> StartAsync(string extraArguments)
        {
            int port;
            using (var probe = new Socket(SocketType.Stream, ProtocolType.Tcp))
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                port = ((IPEndPoint)probe.LocalEndPoint!).Port;
            }

            var host = Path.Combine(AppContext.BaseDirectory, "meshwire-relay.dll");
            var process = Process.Start(new ProcessStartInfo("dotnet", $"{host} --listen 127.0.0.1:{port} --no-stun {extraArguments}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(ready?.Contains("listening", StringComparison.Ordinal), ready);
            process.BeginErrorReadLine();
            return new RelayProcess(process, new Uri($"http://127.0.0.1:{port}/"));
        }

        public long RssBytes()
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }

            throw new InvalidOperationException("no VmRSS");
        }

        public void Dispose()
        {
            _process.Kill();
            _process.WaitForExit();
            _process.Dispose();
        }
    }
}

/// <summary>Runs only when MESHWIRE_RELAY_LOAD=1: these take seconds and open 10k sockets.</summary>
internal sealed class LoadFactAttribute : FactAttribute
{
    public LoadFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("MESHWIRE_RELAY_LOAD") != "1")
        {
            Skip = "Load measurement: set MESHWIRE_RELAY_LOAD=1 to run (10k loopback connections, ~30 s).";
        }
    }
}
