using System.Collections.Frozen;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Net.Engine;
using Meshwire.Paths.Disco;
using Meshwire.Paths.PathSelection;
using Meshwire.WireGuard.Device;
using Microsoft.Extensions.Logging;
using Meshwire.WireGuard.Noise;
using RouteKind = Meshwire.Paths.PathSelection.PathKind;

namespace Meshwire.Agent.Paths;

/// <summary>
/// The node's path layer ("relayed first, direct when proven") between the WireGuard engine and the network. What
/// flows where:
///   device → Route(datagram, virtual endpoint) → the peer's cached decision → UDP (direct) or RelayLinks (relayed);
///   UDP receive → TryConsume: discovery → PathManager, STUN → StunProber, WireGuard → device (then
///   OnAuthenticatedSource keeps the peer's virtual endpoint and notes the real source as live direct traffic);
///   relay receive → discovery → PathManager, WireGuard → engine.DeliverInbound with the sender's virtual endpoint;
///   timer thread (every <see cref="Tick"/>) → PathManager: peers used since the last tick, direct traffic seen,
///   pending transmits (pings, pongs, call-me-maybe), fresh decisions published to the packet threads.
/// The PathManager is sans-I/O and single-threaded: every call into it holds _lock. Packet threads never take the
/// lock on the WireGuard path: they read the immutable per-peer snapshot (_routes) and write volatile fields.
/// </summary>
public sealed partial class PathRouter : IDatagramRouter, IEndpointMapper, IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    /// <summary>How long after a datagram to a peer its pending handshake is watched for an early retransmission.</summary>
    private static readonly TimeSpan HandshakeWatch = TimeSpan.FromSeconds(6);

    /// <summary>A handshake unanswered this long is started once more (well under WireGuard's 5 s REKEY_TIMEOUT retry).</summary>
    private static readonly TimeSpan EarlyRetransmit = TimeSpan.FromMilliseconds(500);

    private readonly WireGuardEngine _engine;
    private readonly RelayLinks _relays;
    private readonly StunProber _stun;
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _timer;
    private readonly byte[] _transmitBuffer = new byte[PathManager.MaxDatagramLength];

    // Guards _manager and the calls into it; _transmitBuffer is used only under it.
    private readonly Lock _lock = new();
    private readonly PathManager _manager;

    private FrozenDictionary<EndpointAddress, PeerRoute> _routes = FrozenDictionary<EndpointAddress, PeerRoute>.Empty;
    private FrozenDictionary<NodePublicKey, PeerRoute> _byKey = FrozenDictionary<NodePublicKey, PeerRoute>.Empty;
    private VirtualEndpoints _virtual = VirtualEndpoints.Empty;

    public PathRouter(WireGuardEngine engine, NodePrivateKey nodeKey, DiscoPrivateKey discoKey, ILogger logger, TimeProvider? time = null)
    {
        _engine = engine;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _start = _time.GetTimestamp();
        _manager = new PathManager(discoKey, X25519Keys.PublicKeyOf(nodeKey));
        _relays = new RelayLinks(nodeKey, logger) { PacketReceived = OnRelayPacket };
        _stun = new StunProber((datagram, to) => engine.SendUdp(datagram, to), _time);
        _timer = new Thread(TimerLoop) { IsBackground = true, Name = "paths" };
        _timer.Start();
    }

    /// <summary>The home relay region (0 until the relay map names one).</summary>
    public int HomeRelay => _relays.Home;

    internal RelayLinks Relays => _relays;

    internal StunProber Stun => _stun;

    private TimeSpan Now => _time.GetElapsedTime(_start);

    private long UnixMs => _time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Takes a new map: peers (keys, endpoints, home relays) and the relay map. Returns each peer's virtual endpoint for the device.</summary>
    public IReadOnlyDictionary<NodePublicKey, EndpointAddress> SetNetmap(NetmapView view)
    {
        _relays.SetMap(view.RelayMap);
        if (_relays.Home == 0 && view.RelayMap.Regions.Count > 0)
        {
            // Relayed first: any region at once; the closest one once measured (RefreshAsync: netcheck, HomeRelaySelector).
            _relays.SetHome(view.RelayMap.Regions[0].RegionId);
        }

        var peers = new List<PathPeer>();
        foreach (var node in view.Peers.Values)
        {
            if (node.NodeKey.IsZero || node.NodeKey == view.Self.NodeKey)
            {
                continue;
            }

            var endpoints = node.Endpoints.Select(ParseEndpoint).Where(e => !e.IsEmpty).ToList();
            peers.Add(new PathPeer(node.NodeKey, node.DiscoKey ?? default, endpoints, node.HomeRelay));
        }

        var virtualEndpoints = _virtual.With(peers.Select(p => p.NodeKey));
        var routes = new Dictionary<NodePublicKey, PeerRoute>();
        lock (_lock)
        {
            _manager.HomeRelay = _relays.Home;
            _manager.SetPeers(peers, Now);
            foreach (var peer in peers)
            {
                virtualEndpoints.TryGetEndpoint(peer.NodeKey, out var endpoint);
                var route = _byKey.GetValueOrDefault(peer.NodeKey) ?? new PeerRoute(peer.NodeKey, endpoint);
                route.Decision = CurrentLocked(peer.NodeKey, Now);
                routes[peer.NodeKey] = route;
            }
        }

        _virtual = virtualEndpoints;
        Volatile.Write(ref _byKey, routes.ToFrozenDictionary());
        Volatile.Write(ref _routes, routes.Values.ToFrozenDictionary(r => r.Virtual));
        return routes.ToDictionary(kv => kv.Key, kv => kv.Value.Virtual);
    }

    /// <summary>This node's own candidate endpoints (interfaces and the STUN-mapped address), sent in call-me-maybe.</summary>
    public void SetLocalEndpoints(IReadOnlyList<EndpointAddress> endpoints)
    {
        lock (_lock)
        {
            _manager.SetLocalEndpoints([.. endpoints]);
        }
    }

    public bool Route(ReadOnlySpan<byte> datagram, ref EndpointAddress destination)
    {
        if (!Volatile.Read(ref _routes).TryGetValue(destination, out var route))
        {
            // Not a virtual endpoint (a cookie reply to a raw source): plain UDP.
            return true;
        }

        route.Used = true;
        var decision = route.Decision;
        if (decision.Kind == RouteKind.None)
        {
            // A peer's first datagram (the handshake initiation): decide now rather than drop it and wait for
            // WireGuard's 5 s retry. Rare, so taking the lock here costs nothing in steady state.
            lock (_lock)
            {
                decision = _manager.Route(route.Peer, Now);
                route.Decision = decision;
                FlushLocked();
            }
        }

        switch (decision.Kind)
        {
            case RouteKind.Direct:
                destination = decision.Direct;
                return true;
            case RouteKind.Relay:
                if (!_relays.TrySend(decision.RelayRegion, route.Peer, datagram) && Interlocked.Increment(ref route.RelayDrops) <= 3)
                {
                    Log.RelayDrop(_logger, route.Peer.ToString(), decision.RelayRegion);
                }

                return false;
            default:
                if (Interlocked.Increment(ref route.NoPathDrops) <= 3)
                {
                    Log.NoPath(_logger, route.Peer.ToString());
                }

                return false;
        }
    }

    public bool TryConsume(ReadOnlySpan<byte> datagram, EndpointAddress source, TimeSpan now)
    {
        if (DiscoWire.IsDiscoMessage(datagram))
        {
            lock (_lock)
            {
                _manager.HandleDisco(datagram, DiscoSource.FromDirect(source), Now, UnixMs);
                FlushLocked();
            }

            return true;
        }

        return _stun.TryConsume(datagram);
    }

    public EndpointAddress OnAuthenticatedSource(NodePublicKey peer, EndpointAddress source, TimeSpan now)
    {
        if (!Volatile.Read(ref _byKey).TryGetValue(peer, out var route))
        {
            return source;
        }

        if (source != route.Virtual)
        {
            route.NoteDirect(source);
        }

        return route.Virtual;
    }

    /// <summary>The peer's path now, for status.</summary>
    public PathStatus StatusOf(NodePublicKey peer)
    {
        lock (_lock)
        {
            return _manager.StatusOf(peer, Now);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        _timer.Join(TimeSpan.FromSeconds(2));
        await _relays.DisposeAsync();
        _stopping.Dispose();
    }

    private void OnRelayPacket(int region, NodePublicKey from, Span<byte> packet)
    {
        if (DiscoWire.IsDiscoMessage(packet))
        {
            lock (_lock)
            {
                _manager.HandleDisco(packet, DiscoSource.FromRelay(from), Now, UnixMs);
                FlushLocked();
            }

            return;
        }

        if (Volatile.Read(ref _byKey).TryGetValue(from, out var route))
        {
            _engine.DeliverInbound(packet, route.Virtual);
        }
        else
        {
            Log.UnknownRelaySender(_logger, from.ToString());
        }
    }

    private void TimerLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                lock (_lock)
                {
                    var now = Now;
                    foreach (var route in Volatile.Read(ref _byKey).Values)
                    {
                        if (route.TakeDirect() is { } direct)
                        {
                            _manager.NoteDirectTraffic(route.Peer, direct, now);
                        }

                        var decision = route.Used ? _manager.Route(route.Peer, now) : CurrentLocked(route.Peer, now);
                        if (decision != route.Decision)
                        {
                            Log.PathChanged(_logger, route.Peer.ToString(), decision.Kind.ToString(), decision.Direct.ToString(), decision.RelayRegion);
                        }

                        route.Decision = decision;
                        if (route.Used)
                        {
                            route.WatchHandshakeUntil = now + HandshakeWatch;
                        }

                        route.Used = false;
                        if (now < route.WatchHandshakeUntil && decision.Kind != RouteKind.None)
                        {
                            // The first handshake may have left before the path could carry it (a relay the peer had
                            // not reached yet, a path that changed): one early new attempt instead of a 5 s wait.
                            _engine.ExpediteHandshake(route.Peer, EarlyRetransmit);
                        }
                    }

                    FlushLocked();
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Log.TickFailed(_logger, e);
            }

            _stopping.Token.WaitHandle.WaitOne(Tick);
        }
    }

    /// <summary>The peer's path without marking it active (no discovery for idle peers). Caller holds _lock.</summary>
    private PathDecision CurrentLocked(NodePublicKey peer, TimeSpan now)
    {
        var status = _manager.StatusOf(peer, now);
        return status.Kind switch
        {
            RouteKind.Direct when status.Direct is { } direct => PathDecision.ToDirect(direct),
            RouteKind.Relay => PathDecision.ToRelay(status.RelayRegion),
            _ => PathDecision.None,
        };
    }

    /// <summary>Sends every queued discovery datagram. Caller holds _lock.</summary>
    private void FlushLocked()
    {
        var now = Now;
        var unixMs = UnixMs;
        while (_manager.TryPoll(now, unixMs, _transmitBuffer, out var transmit))
        {
            var datagram = _transmitBuffer.AsSpan(0, transmit.Length);
            if (transmit.ViaRelay)
            {
                // Region 0: the peer's region is unknown; our home relay forwards within its region.
                _relays.TrySend(transmit.RelayRegion != 0 ? transmit.RelayRegion : _relays.Home, transmit.Peer, datagram);
            }
            else
            {
                _engine.SendUdp(datagram, transmit.Direct);
            }
        }
    }

    private static EndpointAddress ParseEndpoint(string text) =>
        Translation.NetmapTranslator.TryParseEndpoint(text, out var endpoint) ? EndpointAddress.FromIPEndPoint(endpoint) : default;

    /// <summary>
    /// One peer as the packet threads see it: the decision published by the timer thread, and what the packet
    /// threads report back (used since the last tick, direct traffic seen). The direct source is boxed only when it
    /// changes, so steady traffic allocates nothing.
    /// </summary>
    private sealed class PeerRoute(NodePublicKey peer, EndpointAddress virtualEndpoint)
    {
        public long RelayDrops;
        public long NoPathDrops;
        private volatile DecisionBox _decision = new(PathDecision.None);
        private volatile EndpointBox? _direct;
        private volatile bool _directFresh;

        public NodePublicKey Peer { get; } = peer;

        public EndpointAddress Virtual { get; } = virtualEndpoint;

        public volatile bool Used;

        /// <summary>Timer thread only: until when an unanswered handshake with this peer gets one early new attempt.</summary>
        public TimeSpan WatchHandshakeUntil;

        public PathDecision Decision
        {
            get => _decision.Value;
            set
            {
                if (_decision.Value != value)
                {
                    _decision = new DecisionBox(value);
                }
            }
        }

        public void NoteDirect(EndpointAddress source)
        {
            if (_direct is not { } box || box.Value != source)
            {
                _direct = new EndpointBox(source);
            }

            _directFresh = true;
        }

        public EndpointAddress? TakeDirect()
        {
            if (!_directFresh)
            {
                return null;
            }

            _directFresh = false;
            return _direct?.Value;
        }

        private sealed record DecisionBox(PathDecision Value);

        private sealed record EndpointBox(EndpointAddress Value);
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Error, "The path timer failed")]
        public static partial void TickFailed(ILogger logger, Exception exception);

        [LoggerMessage(41, LogLevel.Debug, "Dropped a datagram to {Peer}: the relay of region {Region} is not connected or its queue is full")]
        public static partial void RelayDrop(ILogger logger, string peer, int region);

        [LoggerMessage(42, LogLevel.Debug, "Dropped a datagram to {Peer}: no path (no proven address, no relay region)")]
        public static partial void NoPath(ILogger logger, string peer);

        [LoggerMessage(43, LogLevel.Debug, "Dropped a relayed datagram from {Peer}: not in the netmap")]
        public static partial void UnknownRelaySender(ILogger logger, string peer);

        [LoggerMessage(44, LogLevel.Debug, "Path to {Peer} is now {Kind} {Direct} {Region}")]
        public static partial void PathChanged(ILogger logger, string peer, string kind, string direct, int region);
    }
}
