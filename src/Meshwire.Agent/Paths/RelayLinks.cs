using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.Relay;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent.Paths;

/// <summary>
/// The node's connections to relays, one per region in use: the home region always (peers reach this node there),
/// and a peer's home region while packets go to that peer through it. Each connection has a receive loop that hands
/// packets to <see cref="PacketReceived"/> (on that loop's thread; the buffer is valid during the call only).
/// Clients reconnect by themselves (RelayClient backs off); a region dropped from the relay map is closed.
/// Guarded by _lock: _links and _map. Sends read a snapshot of the links without the lock.
/// </summary>
internal sealed partial class RelayLinks : IAsyncDisposable
{
    private const int ReceiveBufferSize = 64 * 1024;

    private readonly NodePrivateKey _nodeKey;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private Dictionary<int, Link> _links = [];
    private RelayMap _map = new();
    private int _home;

    public RelayLinks(NodePrivateKey nodeKey, ILogger logger)
    {
        _nodeKey = nodeKey;
        _logger = logger;
    }

    /// <summary>A packet from a peer through a relay: (region, sender, bytes).</summary>
    public delegate void PacketHandler(int region, NodePublicKey from, Span<byte> packet);

    public PacketHandler? PacketReceived { get; set; }

    /// <summary>The home region (0: none).</summary>
    public int Home => Volatile.Read(ref _home);

    public RelayMap Map
    {
        get
        {
            lock (_lock)
            {
                return _map;
            }
        }
    }

    /// <summary>Regions with a live connection.</summary>
    public IReadOnlyList<int> Connected => [.. Volatile.Read(ref _links).Where(kv => kv.Value.Client.IsConnected).Select(kv => kv.Key)];

    /// <summary>Takes a new relay map: links to regions no longer in it are closed.</summary>
    public void SetMap(RelayMap map)
    {
        List<Link> closed = [];
        lock (_lock)
        {
            _map = map;
            var links = new Dictionary<int, Link>(_links);
            foreach (var (region, link) in _links)
            {
                if (FindRegion(map, region) is null)
                {
                    links.Remove(region);
                    closed.Add(link);
                }
            }

            _links = links;
            if (FindRegion(map, _home) is null)
            {
                _home = 0;
            }
        }

        foreach (var link in closed)
        {
            _ = link.DisposeAsync().AsTask();
        }
    }

    /// <summary>Makes <paramref name="region"/> the home region (connecting to it) and tells its relay so.</summary>
    public void SetHome(int region)
    {
        Link? previous;
        Link? current;
        lock (_lock)
        {
            if (_home == region)
            {
                return;
            }

            previous = _links.GetValueOrDefault(_home);
            _home = region;
            current = EnsureLocked(region);
        }

        previous?.Client.NotePreferred(false);
        current?.Client.NotePreferred(true);
        if (current is not null)
        {
            Log.HomeRelay(_logger, region, current.Client.Url);
        }
    }

    /// <summary>
    /// Drops every relay connection and connects the home region again: after this machine's addresses changed, a
    /// TCP connection bound to a vanished address would hang until its timeout.
    /// </summary>
    public void Reconnect()
    {
        List<Link> closed;
        Link? home;
        lock (_lock)
        {
            closed = [.. _links.Values];
            _links = [];
            home = _home == 0 ? null : EnsureLocked(_home);
        }

        foreach (var link in closed)
        {
            _ = link.DisposeAsync().AsTask();
        }

        home?.Client.NotePreferred(true);
    }

    /// <summary>Sends a packet to <paramref name="to"/> through <paramref name="region"/>'s relay (connecting on first use). False when dropped.</summary>
    public bool TrySend(int region, NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        if (!Volatile.Read(ref _links).TryGetValue(region, out var link))
        {
            lock (_lock)
            {
                link = EnsureLocked(region);
            }
        }

        if (link is null)
        {
            return false;
        }

        if (link.Client.TrySend(to, packet))
        {
            return true;
        }

        if (link.Client.IsConnected)
        {
            return false; // connected but the send queue is full: drop, as a congested link would
        }

        // Still connecting (the first packets to a new peer are its handshake): hold a few until the link is up,
        // rather than losing them and waiting for WireGuard's 5 s retry.
        var held = link.Hold(to, packet);
        if (link.Client.IsConnected)
        {
            link.Flush();
        }

        return held;
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        Dictionary<int, Link> links;
        lock (_lock)
        {
            links = _links;
            _links = [];
        }

        foreach (var link in links.Values)
        {
            await link.DisposeAsync();
        }

        _stopping.Dispose();
    }

    private Link? EnsureLocked(int region)
    {
        if (_links.TryGetValue(region, out var existing))
        {
            return existing;
        }

        if (_stopping.IsCancellationRequested || FindRegion(_map, region) is not { Nodes.Count: > 0 } found)
        {
            return null;
        }

        var client = new RelayClient(found.Nodes[0].Url, _nodeKey);
        var link = new Link(region, client);
        link.Loop = Task.Run(() => ReceiveLoopAsync(link));
        _links = new Dictionary<int, Link>(_links) { [region] = link };
        return link;
    }

    private async Task ReceiveLoopAsync(Link link)
    {
        var buffer = new byte[ReceiveBufferSize];
        var token = link.Stopping.Token;
        while (!token.IsCancellationRequested)
        {
            RelayMessage message;
            try
            {
                message = await link.Client.ReceiveAsync(buffer, token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            switch (message.Kind)
            {
                case RelayMessageKind.Packet:
                    PacketReceived?.Invoke(link.Region, message.Peer, buffer.AsSpan(0, message.Length));
                    break;
                case RelayMessageKind.Connected:
                    Log.RelayConnected(_logger, link.Region, link.Client.Url);
                    link.Flush();
                    if (Home == link.Region)
                    {
                        link.Client.NotePreferred(true);
                    }

                    break;
                case RelayMessageKind.Disconnected:
                    Log.RelayLost(_logger, link.Region, link.Client.Url);
                    break;
            }
        }
    }

    private static RelayRegion? FindRegion(RelayMap map, int region) => map.Regions.FirstOrDefault(r => r.RegionId == region);

    private sealed class Link(int region, RelayClient client) : IAsyncDisposable
    {
        public int Region { get; } = region;

        public RelayClient Client { get; } = client;

        public CancellationTokenSource Stopping { get; } = new();

        /// <summary>Packets held while the link connects: at most <see cref="MaxHeld"/>, the oldest dropped first.</summary>
        private readonly System.Collections.Concurrent.ConcurrentQueue<(NodePublicKey To, byte[] Packet)> _held = new();

        private const int MaxHeld = 64;

        public Task Loop { get; set; } = Task.CompletedTask;

        public bool Hold(NodePublicKey to, ReadOnlySpan<byte> packet)
        {
            _held.Enqueue((to, packet.ToArray()));
            while (_held.Count > MaxHeld && _held.TryDequeue(out _))
            {
            }

            return true;
        }

        /// <summary>Sends what was held, in order.</summary>
        public void Flush()
        {
            while (_held.TryDequeue(out var item))
            {
                Client.TrySend(item.To, item.Packet);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Stopping.Cancel();
            await Client.DisposeAsync();
            try
            {
                await Loop;
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                // The loop ends with its client.
            }

            Stopping.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Information, "Home relay is region {Region} ({Url})")]
        public static partial void HomeRelay(ILogger logger, int region, Uri url);

        [LoggerMessage(31, LogLevel.Information, "Connected to the relay of region {Region} ({Url})")]
        public static partial void RelayConnected(ILogger logger, int region, Uri url);

        [LoggerMessage(32, LogLevel.Warning, "Lost the relay of region {Region} ({Url}); reconnecting")]
        public static partial void RelayLost(ILogger logger, int region, Uri url);
    }
}
