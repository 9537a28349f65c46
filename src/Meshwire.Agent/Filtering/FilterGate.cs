using System.Net;
using Meshwire.Net.Engine;
using Meshwire.Policy.Filter;
using Meshwire.Policy.Model;
using Meshwire.Protocol;

namespace Meshwire.Agent.Filtering;

/// <summary>
/// The node's inbound packet filter, as the engine's gate. Rules come from each netmap (compiled by the coordination
/// server from the policy for this node); <see cref="Update"/> builds a new <see cref="PacketFilter"/> only when the
/// rules changed and swaps it in atomically. Until the first map arrives nothing is let in (deny by default), replies
/// to this node's own traffic excepted.
/// A new rule set starts with an empty flow table: a reply already in flight when the policy changes passes again as
/// soon as this node sends its next packet of that flow.
/// </summary>
public sealed class FilterGate : IPacketGate
{
    private PacketFilter _filter = new([]);
    private IReadOnlyList<WireFilterRule> _rules = [];

    /// <summary>The filter in force (for counters in status).</summary>
    public PacketFilter Current => Volatile.Read(ref _filter);

    public bool Inbound(ReadOnlySpan<byte> ipPacket, TimeSpan now) => Volatile.Read(ref _filter).Check(ipPacket, now).IsAccepted;

    public void Outbound(ReadOnlySpan<byte> ipPacket, TimeSpan now) => Volatile.Read(ref _filter).TrackOutbound(ipPacket, now);

    /// <summary>Replaces the rules; false when they were the same (the filter and its flows stay). Bad rules throw FormatException.</summary>
    public bool Update(IReadOnlyList<WireFilterRule> rules)
    {
        if (SameRules(_rules, rules))
        {
            return false;
        }

        var compiled = ToFilterRules(rules);
        Volatile.Write(ref _filter, new PacketFilter(compiled));
        _rules = rules;
        return true;
    }

    /// <summary>The wire form (prefix strings, port pairs, protocol numbers) back to filter rules; throws FormatException on a malformed rule.</summary>
    public static IReadOnlyList<FilterRule> ToFilterRules(IReadOnlyList<WireFilterRule> rules)
    {
        var result = new FilterRule[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var sources = rule.Sources.Select(IPNetwork.Parse).ToArray();
            var destinations = rule.Destinations.Select(d => new FilterDestination(IPNetwork.Parse(d.Prefix), Ports(d))).ToArray();
            var protocols = ProtocolSet.Empty;
            foreach (var p in rule.Protocols)
            {
                protocols = p is >= 0 and <= 255 ? protocols.With((byte)p) : throw new FormatException($"protocol {p} is not an IP protocol number");
            }

            result[i] = new FilterRule(sources, destinations, protocols);
        }

        return result;
    }

    private static PortRange Ports(WireFilterDestination d) =>
        d.FirstPort is >= 0 and <= ushort.MaxValue && d.LastPort is >= 0 and <= ushort.MaxValue && d.FirstPort <= d.LastPort
            ? new PortRange((ushort)d.FirstPort, (ushort)d.LastPort)
            : throw new FormatException($"port range {d.FirstPort}-{d.LastPort} is not valid");

    private static bool SameRules(IReadOnlyList<WireFilterRule> a, IReadOnlyList<WireFilterRule> b)
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        for (var i = 0; i < a.Count; i++)
        {
            if (!a[i].Sources.SequenceEqual(b[i].Sources) || !a[i].Destinations.SequenceEqual(b[i].Destinations) || !a[i].Protocols.SequenceEqual(b[i].Protocols))
            {
                return false;
            }
        }

        return true;
    }
}
