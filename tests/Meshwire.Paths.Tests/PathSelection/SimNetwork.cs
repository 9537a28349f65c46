using Meshwire.Core;
using Meshwire.Paths.Disco;
using Meshwire.Paths.PathSelection;
using Meshwire.Testing;

namespace Meshwire.Paths.Tests.PathSelection;

/// <summary>One address of a simulated node: a zone ("lan", "wan") sets the latency; closed addresses drop everything.</summary>
internal sealed class SimAddress(EndpointAddress address, string zone)
{
    public EndpointAddress Address { get; } = address;

    public string Zone { get; } = zone;

    public bool Open { get; set; } = true;

    /// <summary>Behind a NAT: inbound only from remotes this address sent to recently.</summary>
    public bool Nat { get; set; }
}

internal sealed class SimNode : IDisposable
{
    public SimNode(string name, int homeRelay)
    {
        Name = name;
        NodeKey = TestKeys.NodeKey();
        DiscoPrivate = DiscoKeys.Generate();
        DiscoKey = DiscoKeys.PublicKeyOf(DiscoPrivate);
        Manager = new PathManager(DiscoPrivate, NodeKey, homeRelay);
    }

    public string Name { get; }

    public NodePublicKey NodeKey { get; }

    public DiscoPrivateKey DiscoPrivate { get; }

    public DiscoPublicKey DiscoKey { get; }

    public PathManager Manager { get; }

    public List<SimAddress> Addresses { get; } = [];

    /// <summary>What the netmap says this node's endpoints are; all its addresses unless set.</summary>
    public List<EndpointAddress>? Advertised { get; set; }

    /// <summary>Peers this node sends WireGuard traffic to (Route is called for them every step).</summary>
    public HashSet<NodePublicKey> Sending { get; } = [];

    /// <summary>When set, direct WireGuard traffic is modelled: the receiver hears of it through NoteDirectTraffic.</summary>
    public bool Traffic { get; set; }

    public Dictionary<NodePublicKey, PathDecision> Decisions { get; } = [];

    public List<(TimeSpan At, Transmit Transmit)> Sent { get; } = [];

    public List<(TimeSpan At, DiscoReceiveResult Result)> Received { get; } = [];

    /// <summary>(local address, remote address) → last time this node sent on that pair: the NAT's mappings.</summary>
    public Dictionary<(EndpointAddress Local, EndpointAddress Remote), TimeSpan> Mappings { get; } = [];

    public SimAddress AddAddress(string text, string zone)
    {
        var address = new SimAddress(TestKeys.V4(text), zone);
        Addresses.Add(address);
        return address;
    }

    public int SentCount(DiscoMessageType type, TimeSpan? after = null) => Sent.Count(s => s.Transmit.Type == type && s.At > (after ?? TimeSpan.MinValue));

    public void Dispose() => Manager.Dispose();
}

/// <summary>
/// A tiny deterministic network for PathManagers: time advances in 1 ms steps; each step delivers due datagrams,
/// lets every node route to the peers it is sending to, and polls every manager dry. Direct datagrams take the
/// latency of the destination's zone; relayed ones take <see cref="RelayOneWay"/>.
/// Time comes from a Linux host's clock (<see cref="UptimeClock"/>, weeks of uptime unless told) the way a driver
/// reads it: "now" is the host's monotonic time through MonotonicClock or, with <c>routerOrigin</c>, the time since
/// the network started as the agent's PathRouter computes it (GetElapsedTime); the disco timestamps are its wall time.
/// </summary>
internal sealed class SimNetwork : IDisposable
{
    public const int Region = 7;
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan NatMappingLifetime = TimeSpan.FromSeconds(30);
    private readonly List<SimNode> _nodes = [];
    private readonly List<(TimeSpan At, SimNode To, byte[] Bytes, DiscoSource Source)> _inFlight = [];
    private readonly byte[] _buffer = new byte[PathManager.MaxDatagramLength];
    private readonly long? _routerStart;

    public SimNetwork(TimeSpan? uptime = null, bool routerOrigin = false)
    {
        Clock = new UptimeClock(uptime, DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_000));
        _routerStart = routerOrigin ? Clock.GetTimestamp() : null;
    }

    /// <summary>The host's clock; the network steps it.</summary>
    public UptimeClock Clock { get; }

    public TimeSpan Now => _routerStart is { } start ? Clock.GetElapsedTime(start) : MonotonicClock.Now(Clock);

    public long UnixMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    public Dictionary<string, TimeSpan> ZoneLatency { get; } = new() { ["lan"] = TimeSpan.FromMilliseconds(1), ["wan"] = TimeSpan.FromMilliseconds(20) };

    public TimeSpan RelayOneWay { get; set; } = TimeSpan.FromMilliseconds(40);

    public SimNode AddNode(string name)
    {
        var node = new SimNode(name, Region);
        _nodes.Add(node);
        return node;
    }

    /// <summary>Gives every node a netmap listing all the others (and tells it its own endpoints).</summary>
    public void PublishNetmap()
    {
        foreach (var node in _nodes)
        {
            node.Manager.SetPeers(_nodes.Where(n => n != node).Select(PeerOf), Now);
            node.Manager.SetLocalEndpoints(EndpointsOf(node).ToArray());
        }
    }

    public static PathPeer PeerOf(SimNode node) => new(node.NodeKey, node.DiscoKey, EndpointsOf(node), Region);

    public void Run(TimeSpan duration)
    {
        // Counted on the clock, not on Now: a conversion that wraps must fail the test, not hang it.
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += Step)
        {
            Clock.Advance(Step);
            Deliver();
            foreach (var node in _nodes)
            {
                foreach (var peer in node.Sending)
                {
                    var decision = node.Manager.Route(peer, Now);
                    node.Decisions[peer] = decision;
                    if (node.Traffic && decision.Kind == PathKind.Direct)
                    {
                        CarryTraffic(node, peer, decision.Direct);
                    }
                }
            }

            foreach (var node in _nodes)
            {
                while (node.Manager.TryPoll(Now, UnixMs, _buffer, out var transmit))
                {
                    node.Sent.Add((Now, transmit));
                    Send(node, transmit, _buffer.AsSpan(0, transmit.Length).ToArray());
                }
            }
        }
    }

    /// <summary>Runs until <paramref name="condition"/> holds; returns how long that took, or null when it never did.</summary>
    public TimeSpan? RunUntil(Func<bool> condition, TimeSpan limit)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < limit;)
        {
            Run(Step);
            elapsed += Step;
            if (condition())
            {
                return elapsed;
            }
        }

        return null;
    }

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
        }
    }

    private static List<EndpointAddress> EndpointsOf(SimNode node) => node.Advertised ?? node.Addresses.Select(a => a.Address).ToList();

    private void Deliver()
    {
        var due = _inFlight.Where(p => p.At <= Now).ToList();
        _inFlight.RemoveAll(p => p.At <= Now);
        foreach (var (_, to, bytes, source) in due)
        {
            to.Received.Add((Now, to.Manager.HandleDisco(bytes, source, Now, UnixMs)));
        }
    }

    private void Send(SimNode from, Transmit transmit, byte[] bytes)
    {
        if (transmit.ViaRelay)
        {
            var target = _nodes.Single(n => n.NodeKey == transmit.Peer);
            _inFlight.Add((Now + RelayOneWay, target, bytes, DiscoSource.FromRelay(from.NodeKey)));
            return;
        }

        if (Route(from, transmit.Direct) is { } path)
        {
            _inFlight.Add((Now + ZoneLatency[path.To.Zone], path.Target, bytes, DiscoSource.FromDirect(path.From.Address)));
        }
    }

    private void CarryTraffic(SimNode from, NodePublicKey peer, EndpointAddress to)
    {
        if (Route(from, to) is { } path && path.Target.NodeKey == peer)
        {
            path.Target.Manager.NoteDirectTraffic(from.NodeKey, path.From.Address, Now);
        }
    }

    /// <summary>Which node owns <paramref name="to"/>, and from which of the sender's addresses it goes; null when dropped.</summary>
    private (SimNode Target, SimAddress From, SimAddress To)? Route(SimNode from, EndpointAddress to)
    {
        foreach (var target in _nodes)
        {
            var destination = target.Addresses.FirstOrDefault(a => a.Address == to);
            if (destination is null)
            {
                continue;
            }

            var source = from.Addresses.FirstOrDefault(a => a.Zone == destination.Zone);
            if (source is null || !source.Open || !destination.Open)
            {
                return null;
            }

            from.Mappings[(source.Address, destination.Address)] = Now;
            if (destination.Nat && !(target.Mappings.TryGetValue((destination.Address, source.Address), out var opened) && Now - opened < NatMappingLifetime))
            {
                return null;
            }

            return (target, source, destination);
        }

        return null;
    }
}
