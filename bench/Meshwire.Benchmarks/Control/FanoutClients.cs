using System.Diagnostics;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Benchmarks.Control;

/// <summary>
/// The node side of <see cref="StreamFanout"/>, in its own process (10k channels plus the server's 10k sockets do
/// not fit one process's open-file limit). Registers N nodes over the real control channel, opens N map streams,
/// prints "ready"; then records, per stream, the monotonic time (Stopwatch, CLOCK_MONOTONIC: comparable across
/// processes) at which the delta carrying the joining node arrived, and prints "done" with the spread.
/// Args: URL SERVERKEY|- AUTHKEY N JOINERNAME|- ("-": no joiner, hold the streams until stopped). Also used by bench/agent-rss.sh to hold N online peers.
/// </summary>
internal static class FanoutClients
{
    private const int SetupConcurrency = 32;

    public static async Task<int> RunAsync(string[] args)
    {
        var url = new Uri(args[0]);
        // "-": fetch the key from the server (trust on first use, as a node does).
        MachinePublicKey serverKey;
        if (args[1] == "-")
        {
            serverKey = await ControlClient.FetchServerKeyAsync(url);
        }
        else if (!KeyParsing.TryParseMachineKey(args[1], out serverKey))
        {
            throw new ArgumentException("bad server key");
        }

        var authKey = args[2];
        var n = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        var joiner = args[4];
        var clients = new (ControlClient Client, MapRequest Request)[n];

        // Phase 1: register every node (no stream yet, so nobody gets setup deltas).
        using var gate = new SemaphoreSlim(SetupConcurrency);
        await Task.WhenAll(Enumerable.Range(0, n).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var client = await ControlClient.ConnectAsync(url, ControlClient.GenerateMachineKey(), serverKey);
                var nodePrivate = X25519Keys.GeneratePrivateKey();
                var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
                await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = $"n{i}", AuthKey = authKey }, nodePrivate);
                var disco = new DiscoPublicKey(X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey()).Value);
                clients[i] = (client, new MapRequest { NodeKey = nodeKey, DiscoKey = disco, Endpoints = [$"192.0.2.{i % 250 + 1}:41641"], HomeRelay = 1 });
            }
            finally
            {
                gate.Release();
            }
        }));
        Console.Error.WriteLine($"clients: registered {n}");

        // Phase 2: open every stream; each yields its full map, then deltas.
        var delivered = new long[n];
        var remaining = n;
        var ready = n;
        var allReady = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var allDelivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readers = Enumerable.Range(0, n).Select(async i =>
        {
            await gate.WaitAsync();
            var released = false;
            try
            {
                await foreach (var message in clients[i].Client.StreamMapAsync(clients[i].Request))
                {
                    if (message is MapFull)
                    {
                        gate.Release();
                        released = true;
                        if (Interlocked.Decrement(ref ready) == 0)
                        {
                            allReady.TrySetResult();
                        }
                    }
                    else if (message is MapDelta { PeersChanged: { } changed } && delivered[i] == 0 && changed.Any(p => p.Name == joiner))
                    {
                        delivered[i] = Stopwatch.GetTimestamp();
                        if (Interlocked.Decrement(ref remaining) == 0)
                        {
                            allDelivered.TrySetResult();
                        }
                    }
                }
            }
            finally
            {
                if (!released)
                {
                    gate.Release();
                }
            }
        }).ToList();

        await allReady.Task.WaitAsync(TimeSpan.FromSeconds(150));
        Console.WriteLine("ready");
        if (joiner == "-")
        {
            // No joiner: hold the streams open (online peers for bench/agent-rss.sh) until this process is stopped.
            Console.Out.Flush();
            await Task.Delay(Timeout.Infinite);
        }

        await allDelivered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Array.Sort(delivered);
        Console.WriteLine($"done {delivered[0]} {delivered[n / 2]} {delivered[(int)(n * 0.99)]} {delivered[^1]}");
        Console.Out.Flush();
        // The parent measures and then closes our stdin; the sockets die with the process.
        await Console.In.ReadToEndAsync();
        return 0;
    }
}
