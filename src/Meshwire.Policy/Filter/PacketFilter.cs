using System.Net.Sockets;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Filter;

/// <summary>
/// A node's inbound packet filter (sans-I/O): decrypted packets from peers go through <see cref="Check"/>
/// before reaching the TUN device; packets the node sends go through <see cref="TrackOutbound"/> so that
/// replies to them pass even when no rule would allow the peer to start the conversation.
/// </summary>
/// <remarks>
/// Decision order for an inbound packet:
/// <list type="number">
/// <item>Malformed or truncated (any IP/transport header cut short, bad lengths) → drop Malformed.</item>
/// <item>Non-first fragment → accept only if the first fragment of the same datagram (source, destination,
/// protocol, fragment id) was accepted within <see cref="PacketFilterOptions.FragmentTimeout"/>; else drop.
/// Rationale: later fragments carry no ports, so on their own they cannot be checked; tying them to an
/// accepted first fragment never lets through a datagram the rules refused, and fragments that would
/// overwrite the transport header (offset 8 bytes, RFC 1858) are dropped as malformed. A datagram whose
/// later fragments arrive before its first is dropped; senders over WireGuard rarely fragment.</item>
/// <item>Reply to a tracked outbound flow (TCP/UDP/SCTP 5-tuple, ICMP echo id), not idle for longer than
/// <see cref="PacketFilterOptions.FlowIdleTimeout"/> → accept and refresh.</item>
/// <item>A rule whose protocols, source ranges and destination (address, and port for TCP/UDP/SCTP)
/// match → accept. Other protocols (ICMP included) match on addresses only, as ports do not apply.</item>
/// <item>Otherwise drop PolicyDenied.</item>
/// </list>
/// Check and TrackOutbound allocate nothing and throw nothing. They may run on different threads: each
/// table has its own lock, held only for one dictionary operation; rules are immutable.
/// </remarks>
public sealed class PacketFilter
{
    private readonly CompiledFilterRule[] _rules;
    private readonly PacketFilterOptions _options;

    // Guards _flows.
    private readonly Lock _flowLock = new();
    private readonly FlowTable<FlowKey> _flows;

    // Guards _fragments.
    private readonly Lock _fragmentLock = new();
    private readonly FlowTable<FragmentKey> _fragments;

    private readonly long[] _drops = new long[Enum.GetValues<FilterDropReason>().Length];
    private readonly long[] _accepts = new long[Enum.GetValues<FilterAcceptReason>().Length];
    private long _nextLogTicks = long.MinValue;
    private long _dropsSinceLog;

    public PacketFilter(IReadOnlyList<FilterRule> rules, PacketFilterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _options = options ?? new PacketFilterOptions();
        _rules = [.. rules.Select(r => new CompiledFilterRule(r))];
        _flows = new FlowTable<FlowKey>(_options.FlowCapacity);
        _fragments = new FlowTable<FragmentKey>(_options.FragmentCapacity);
    }

    public int RuleCount => _rules.Length;

    public long GetDropCount(FilterDropReason reason) => Interlocked.Read(ref _drops[(int)reason]);

    public long GetAcceptCount(FilterAcceptReason reason) => Interlocked.Read(ref _accepts[(int)reason]);

    /// <summary>Decides an inbound packet (a full IPv4 or IPv6 packet as it will be written to TUN).</summary>
    public FilterVerdict Check(ReadOnlySpan<byte> ipPacket, TimeSpan now)
    {
        if (!IpPacket.TryParse(ipPacket, out var packet))
        {
            return Dropped(FilterDropReason.Malformed, in packet, now);
        }

        if (packet.Fragment == FragmentKind.NonFirst)
        {
            bool live;
            lock (_fragmentLock)
            {
                live = _fragments.IsLive(FragmentKey.Of(in packet), now);
            }

            return live ? Accepted(FilterAcceptReason.FragmentOfAcceptedPacket) : Dropped(FilterDropReason.UnmatchedFragment, in packet, now);
        }

        FilterAcceptReason reason;
        if (IsReply(in packet, now))
        {
            reason = FilterAcceptReason.ReplyToOutboundFlow;
        }
        else if (MatchesRule(in packet))
        {
            reason = FilterAcceptReason.Rule;
        }
        else
        {
            return Dropped(FilterDropReason.PolicyDenied, in packet, now);
        }

        if (packet.Fragment == FragmentKind.First)
        {
            lock (_fragmentLock)
            {
                _fragments.Set(FragmentKey.Of(in packet), now, now + _options.FragmentTimeout);
            }
        }

        return Accepted(reason);
    }

    /// <summary>Records a packet this node sends so the peer's replies pass <see cref="Check"/>. Malformed packets and later fragments are ignored.</summary>
    public void TrackOutbound(ReadOnlySpan<byte> ipPacket, TimeSpan now)
    {
        if (!IpPacket.TryParse(ipPacket, out var packet) || packet.Fragment == FragmentKind.NonFirst)
        {
            return;
        }

        FlowKey key;
        if (packet.CarriesPorts)
        {
            key = new FlowKey(packet.Protocol, packet.IsIPv6, packet.Source, packet.Destination, packet.SourcePort, packet.DestinationPort);
        }
        else if (packet.IsEchoRequest)
        {
            key = new FlowKey(packet.Protocol, packet.IsIPv6, packet.Source, packet.Destination, packet.SourcePort, 0);
        }
        else
        {
            return;
        }

        lock (_flowLock)
        {
            _flows.Set(key, now, now + _options.FlowIdleTimeout);
        }
    }

    private bool IsReply(in IpPacket packet, TimeSpan now)
    {
        FlowKey key;
        if (packet.CarriesPorts)
        {
            key = new FlowKey(packet.Protocol, packet.IsIPv6, packet.Destination, packet.Source, packet.DestinationPort, packet.SourcePort);
        }
        else if (packet.IsEchoReply)
        {
            key = new FlowKey(packet.Protocol, packet.IsIPv6, packet.Destination, packet.Source, packet.SourcePort, 0);
        }
        else
        {
            return false;
        }

        lock (_flowLock)
        {
            if (!_flows.IsLive(key, now))
            {
                return false;
            }

            _flows.Set(key, now, now + _options.FlowIdleTimeout);
            return true;
        }
    }

    private bool MatchesRule(in IpPacket packet)
    {
        foreach (var rule in _rules)
        {
            if (rule.Matches(in packet))
            {
                return true;
            }
        }

        return false;
    }

    private FilterVerdict Accepted(FilterAcceptReason reason)
    {
        Interlocked.Increment(ref _accepts[(int)reason]);
        return FilterVerdict.Accept(reason);
    }

    private FilterVerdict Dropped(FilterDropReason reason, in IpPacket packet, TimeSpan now)
    {
        Interlocked.Increment(ref _drops[(int)reason]);
        var log = _options.DropLog;
        if (log is null)
        {
            return FilterVerdict.Drop(reason);
        }

        Interlocked.Increment(ref _dropsSinceLog);
        var next = Interlocked.Read(ref _nextLogTicks);
        if (now.Ticks >= next && Interlocked.CompareExchange(ref _nextLogTicks, (now + _options.DropLogInterval).Ticks, next) == next)
        {
            var suppressed = Interlocked.Exchange(ref _dropsSinceLog, 0) - 1;
            log(new FilterDropLog(reason, packet.IsIPv6, packet.Protocol, packet.Source, packet.SourcePort, packet.Destination, packet.DestinationPort, suppressed));
        }

        return FilterVerdict.Drop(reason);
    }

    /// <summary>The datagram a fragment belongs to (RFC 791 §3.2: source, destination, protocol, identification).</summary>
    private readonly record struct FragmentKey(bool IsIPv6, byte Protocol, UInt128 Source, UInt128 Destination, uint Id)
    {
        public static FragmentKey Of(in IpPacket packet) => new(packet.IsIPv6, packet.Protocol, packet.Source, packet.Destination, packet.FragmentId);
    }

    /// <summary>A FilterRule in lookup form: source ranges per family, destination ranges with ports.</summary>
    private sealed class CompiledFilterRule
    {
        private readonly ProtocolSet _protocols;
        private readonly AddressRanges _sourcesV4;
        private readonly AddressRanges _sourcesV6;
        private readonly Destination[] _destinations;

        public CompiledFilterRule(FilterRule rule)
        {
            _protocols = rule.Protocols;
            _sourcesV4 = AddressRanges.From(rule.Sources, AddressFamily.InterNetwork);
            _sourcesV6 = AddressRanges.From(rule.Sources, AddressFamily.InterNetworkV6);
            _destinations = [.. rule.Destinations.Select(d =>
            {
                var (first, last) = AddressRanges.ToRange(d.Prefix);
                return new Destination(d.Prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6, first, last, d.Ports);
            })];
        }

        public bool Matches(in IpPacket packet)
        {
            if (!_protocols.Contains(packet.Protocol))
            {
                return false;
            }

            var destinationMatches = false;
            foreach (ref readonly var destination in _destinations.AsSpan())
            {
                if (destination.IsIPv6 == packet.IsIPv6
                    && packet.Destination >= destination.First && packet.Destination <= destination.Last
                    && (!packet.CarriesPorts || destination.Ports.Contains(packet.DestinationPort)))
                {
                    destinationMatches = true;
                    break;
                }
            }

            return destinationMatches && (packet.IsIPv6 ? _sourcesV6 : _sourcesV4).Contains(packet.Source);
        }

        private readonly record struct Destination(bool IsIPv6, UInt128 First, UInt128 Last, PortRange Ports);
    }
}
