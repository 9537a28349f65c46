namespace Meshwire.Protocol;

/// <summary>
/// Finds a null where a wire type declares a value (System.Text.Json fills a JSON null into any reference property and
/// list item whatever its annotation). A message with one is malformed: the code behind the channel trusts the
/// annotations, and a null hostname or tag used to tear the channel down. Written out per type, without reflection,
/// so meshwired stays trimmable; the control-json fuzz target checks it against the declared annotations.
/// </summary>
internal static class ProtocolNulls
{
    /// <summary>The path of the first null that is not allowed ("register.tags[0]"), or null when there is none.</summary>
    public static string? Find(ControlMessage message) => message switch
    {
        RegisterRequest r => Value(r.Hostname, "register.hostname") ?? Items(r.Tags, "register.tags"),
        RegisterResult => null,
        MapRequest m => Items(m.Endpoints, "map.endpoints"),
        MapFull f => Node(f.Self, "map-full.self") ?? Nodes(f.Peers, "map-full.peers") ?? Relays(f.RelayMap, "map-full.relayMap")
            ?? Dns(f.Dns, "map-full.dns") ?? Rules(f.PacketFilter, "map-full.packetFilter"),
        MapDelta d => (d.Self is null ? null : Node(d.Self, "map-delta.self")) ?? (d.PeersChanged is null ? null : Nodes(d.PeersChanged, "map-delta.peersChanged"))
            ?? Items(d.PeersRemoved, "map-delta.peersRemoved") ?? (d.PacketFilter is null ? null : Rules(d.PacketFilter, "map-delta.packetFilter"))
            ?? (d.RelayMap is null ? null : Relays(d.RelayMap, "map-delta.relayMap")) ?? (d.Dns is null ? null : Dns(d.Dns, "map-delta.dns")),
        KeepAlive => null,
        ErrorMessage e => Value(e.Code, "error.code") ?? Value(e.Message, "error.message"),
        _ => null,
    };

    private static string? Value(object? value, string path) => value is null ? path : null;

    /// <summary>A list that may be absent (null) but whose items may not be.</summary>
    private static string? Items<T>(IReadOnlyList<T>? list, string path) where T : class
    {
        if (list is null)
        {
            return null;
        }

        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
            {
                return $"{path}[{i}]";
            }
        }

        return null;
    }

    private static string? RequiredItems<T>(IReadOnlyList<T>? list, string path) where T : class => list is null ? path : Items(list, path);

    private static string? Node(WireNode? node, string path) => node is null ? path
        : Value(node.Id, path + ".id") ?? Value(node.Name, path + ".name") ?? RequiredItems(node.Addresses, path + ".addresses")
            ?? RequiredItems(node.AllowedIps, path + ".allowedIps") ?? RequiredItems(node.Endpoints, path + ".endpoints")
            ?? Value(node.User, path + ".user") ?? RequiredItems(node.Tags, path + ".tags");

    private static string? Nodes(IReadOnlyList<WireNode>? nodes, string path)
    {
        if (nodes is null)
        {
            return path;
        }

        for (var i = 0; i < nodes.Count; i++)
        {
            if (Node(nodes[i], $"{path}[{i}]") is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static string? Rules(IReadOnlyList<WireFilterRule>? rules, string path)
    {
        if (rules is null)
        {
            return path;
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var at = $"{path}[{i}]";
            if (rule is null)
            {
                return at;
            }

            if ((RequiredItems(rule.Sources, at + ".sources") ?? RequiredItems(rule.Destinations, at + ".destinations") ?? Value(rule.Protocols, at + ".protocols")) is { } found)
            {
                return found;
            }

            for (var j = 0; j < rule.Destinations.Count; j++)
            {
                if (rule.Destinations[j].Prefix is null)
                {
                    return $"{at}.destinations[{j}].prefix";
                }
            }
        }

        return null;
    }

    private static string? Relays(RelayMap? map, string path)
    {
        if (map is null)
        {
            return path;
        }

        if (map.Regions is null)
        {
            return path + ".regions";
        }

        for (var i = 0; i < map.Regions.Count; i++)
        {
            var region = map.Regions[i];
            var at = $"{path}.regions[{i}]";
            if (region is null)
            {
                return at;
            }

            if ((Value(region.Code, at + ".code") ?? Value(region.Name, at + ".name") ?? RequiredItems(region.Nodes, at + ".nodes")) is { } found)
            {
                return found;
            }

            for (var j = 0; j < region.Nodes.Count; j++)
            {
                if ((Value(region.Nodes[j].Name, $"{at}.nodes[{j}].name") ?? Value(region.Nodes[j].HostName, $"{at}.nodes[{j}].hostName")) is { } node)
                {
                    return node;
                }
            }
        }

        return null;
    }

    private static string? Dns(DnsConfig? dns, string path) =>
        dns is null ? path : Value(dns.Suffix, path + ".suffix") ?? RequiredItems(dns.Nameservers, path + ".nameservers");
}
