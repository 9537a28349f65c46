using Meshwire.Policy.Filter;
using Meshwire.Protocol;

namespace Meshwire.Control.State;

/// <summary>Compiled filter rules to their wire form, and structural comparison so unchanged filters are not resent.</summary>
internal static class FilterWire
{
    public static IReadOnlyList<WireFilterRule> ToWire(IReadOnlyList<FilterRule> rules)
    {
        var result = new WireFilterRule[rules.Count];
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            result[i] = new WireFilterRule
            {
                Sources = [.. rule.Sources.Select(s => s.ToString())],
                Destinations = [.. rule.Destinations.Select(d => new WireFilterDestination(d.Prefix.ToString(), d.Ports.First, d.Ports.Last))],
                Protocols = [.. rule.Protocols.Members().Select(p => (int)p)],
            };
        }

        return result;
    }

    public static bool SameRules(IReadOnlyList<FilterRule> a, IReadOnlyList<FilterRule> b)
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
            var x = a[i];
            var y = b[i];
            if (!x.Protocols.Equals(y.Protocols)
                || !(ReferenceEquals(x.Sources, y.Sources) || x.Sources.SequenceEqual(y.Sources))
                || !x.Destinations.SequenceEqual(y.Destinations))
            {
                return false;
            }
        }

        return true;
    }
}
