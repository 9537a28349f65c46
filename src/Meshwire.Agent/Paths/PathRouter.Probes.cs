using System.Net;
using System.Net.NetworkInformation;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.Paths.Netcheck;
using Meshwire.Relay;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent.Paths;

/// <summary>
/// The path layer's measurements: STUN through the engine's socket (the mapped address peers can reach; whether the
/// NAT maps endpoint-independently), relay latency by region (the home relay), ICMP pings through the tunnel, and
/// the node's own candidate endpoints. The agent reports the endpoints and home region to control.
/// </summary>
public sealed partial class PathRouter : IPeerPaths
{
    private static readonly TimeSpan StunTimeout = TimeSpan.FromSeconds(2);
    private static readonly HttpClient ProbeHttp = new() { Timeout = TimeSpan.FromSeconds(5) };

    private NetcheckReport? _lastReport;
    private IReadOnlyList<string>? _localEndpoints;

    /// <summary>The candidate endpoints to report to control ("ip:port"): the last refresh's, else the interface addresses.</summary>
    public IReadOnlyList<string> LocalEndpointStrings =>
        Volatile.Read(ref _localEndpoints) ?? LocalEndpoints.Discover(_engine.ListenPort, _engine.InterfaceName);

    /// <summary>The last netcheck (taken by <see cref="RefreshAsync"/> or asked for); null before the first.</summary>
    public NetcheckReport? LastReport => Volatile.Read(ref _lastReport);

    /// <summary>
    /// Measures (netcheck), moves home to the closest region, and returns this node's candidate endpoints: its
    /// interface addresses plus the STUN-mapped addresses, with the engine's port.
    /// </summary>
    public async Task<IReadOnlyList<EndpointAddress>> RefreshAsync(CancellationToken cancellationToken)
    {
        var report = await NetcheckAsync(cancellationToken);
        if (report.PreferredRelayRegion is { } code && _relays.Map.Regions.FirstOrDefault(r => r.Code == code) is { } region)
        {
            _relays.SetHome(region.RegionId);
            lock (_lock)
            {
                _manager.HomeRelay = region.RegionId;
            }
        }

        var endpoints = LocalEndpoints.DiscoverEndpoints(_engine.ListenPort, _engine.InterfaceName).Select(EndpointAddress.FromIPEndPoint).ToList();

        foreach (var mapped in new[] { report.MappedV4, report.MappedV6 })
        {
            if (mapped is { } m && !endpoints.Contains(m))
            {
                endpoints.Add(m);
            }
        }

        SetLocalEndpoints(endpoints);
        Volatile.Write(ref _localEndpoints, [.. endpoints.Select(e => e.ToString())]);
        return endpoints;
    }

    public async Task<NetcheckReport> NetcheckAsync(CancellationToken cancellationToken)
    {
        var map = _relays.Map;
        var probes = new List<Task<StunProbe>>();
        foreach (var region in map.Regions)
        {
            foreach (var node in region.Nodes)
            {
                if (node.StunPort > 0 && IPAddress.TryParse(node.IPv4 ?? node.HostName, out var address))
                {
                    probes.Add(Probe(region.RegionId, new IPEndPoint(address, node.StunPort)));
                }
            }
        }

        var analysis = NetcheckAnalyzer.Analyze(await Task.WhenAll(probes));
        var latency = analysis.RegionLatency;
        if (latency.Count == 0 && map.Regions.Count > 0)
        {
            // UDP blocked: the relays' HTTPS probe still ranks the regions (relayed traffic goes over TCP anyway).
            var ranked = await RelayLatencyProbe.RankRegionsAsync(ProbeHttp, map, StunTimeout, cancellationToken);
            latency = ranked.ToDictionary(r => r.RegionId, r => r.RoundTrip);
        }

        var home = latency.Count == 0 ? _relays.Home : HomeRelaySelector.Choose(_relays.Home, latency);
        var report = new NetcheckReport
        {
            Udp = analysis.Udp,
            MappedV4 = analysis.MappedV4,
            MappedV6 = analysis.MappedV6,
            EndpointIndependentMapping = analysis.EndpointIndependentMapping,
            PreferredRelayRegion = home == 0 ? null : RegionCode(home),
            RelayLatency = latency.ToDictionary(kv => RegionCode(kv.Key) ?? "?", kv => kv.Value),
        };
        Volatile.Write(ref _lastReport, report);
        return report;

        async Task<StunProbe> Probe(int region, IPEndPoint server)
        {
            var answer = await _stun.QueryAsync(EndpointAddress.FromIPEndPoint(server), StunTimeout, cancellationToken);
            return answer is { } a ? StunProbe.Answered(region, server.ToString(), a.Mapped, a.RoundTrip) : StunProbe.Lost(region, server.ToString());
        }
    }

    public PeerPathInfo PathOf(NodePublicKey peer)
    {
        var status = StatusOf(peer);
        return status.Kind switch
        {
            Meshwire.Paths.PathSelection.PathKind.Direct => new PeerPathInfo(PathKind.Direct, status.Direct, null, status.Latency),
            Meshwire.Paths.PathSelection.PathKind.Relay => new PeerPathInfo(PathKind.Relay, null, RegionCode(status.RelayRegion), null),
            _ => new PeerPathInfo(PathKind.None),
        };
    }

    /// <summary>An ICMP echo from this node's kernel to the peer's tailnet address: it crosses the TUN device and the tunnel.</summary>
    public async Task<PingResult> PingAsync(NodePublicKey peer, IPAddress target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var ping = new Ping();
        try
        {
            var reply = await ping.SendPingAsync(target, timeout, null, null, cancellationToken);
            return reply.Status == IPStatus.Success
                ? new PingResult(true, TimeSpan.FromMilliseconds(Math.Max(reply.RoundtripTime, 0)), PathOf(peer))
                : new PingResult(false, TimeSpan.Zero, PathOf(peer), $"no reply ({reply.Status})");
        }
        catch (PingException e)
        {
            return new PingResult(false, TimeSpan.Zero, PathOf(peer), e.InnerException?.Message ?? e.Message);
        }
    }

    private string? RegionCode(int region) => _relays.Map.Regions.FirstOrDefault(r => r.RegionId == region)?.Code ?? (region == 0 ? null : region.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
