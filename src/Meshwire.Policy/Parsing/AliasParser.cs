using System.Globalization;
using System.Net;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Parsing;

/// <summary>Where an alias appears; decides which kinds are legal there.</summary>
internal enum AliasUse
{
    Source,
    Destination,
    SshSource,
    SshDestination,
    TestSource,
    TestDestination,
}

/// <summary>
/// Parses the strings inside src/dst lists: aliases ("tag:web", "group:eng", "alice@example.com", "*",
/// host names, IPs, CIDRs, autogroups), "alias:ports" destinations and protocol names.
/// </summary>
internal static class AliasParser
{
    private static readonly Dictionary<string, ProtocolSet> ProtocolNames = new(StringComparer.OrdinalIgnoreCase)
    {
        // "icmp" covers both families, so one rule works on a dual-stack tailnet.
        ["icmp"] = ProtocolSet.Of(ProtocolSet.Icmp, ProtocolSet.Icmpv6),
        ["igmp"] = ProtocolSet.Of(ProtocolSet.Igmp),
        ["ipv4"] = ProtocolSet.Of(ProtocolSet.IpInIp),
        ["ip-in-ip"] = ProtocolSet.Of(ProtocolSet.IpInIp),
        ["tcp"] = ProtocolSet.Of(ProtocolSet.Tcp),
        ["egp"] = ProtocolSet.Of(ProtocolSet.Egp),
        ["igp"] = ProtocolSet.Of(ProtocolSet.Igp),
        ["udp"] = ProtocolSet.Of(ProtocolSet.Udp),
        ["gre"] = ProtocolSet.Of(ProtocolSet.Gre),
        ["esp"] = ProtocolSet.Of(ProtocolSet.Esp),
        ["ah"] = ProtocolSet.Of(ProtocolSet.Ah),
        ["ipv6-icmp"] = ProtocolSet.Of(ProtocolSet.Icmpv6),
        ["sctp"] = ProtocolSet.Of(ProtocolSet.Sctp),
    };

    public static Alias Parse(string text, TextPosition position, PolicyParser.ParseContext context, AliasUse use)
    {
        if (text.Length == 0)
        {
            throw new PolicyException(position, "empty alias");
        }

        if (text == "*")
        {
            return use is AliasUse.SshSource or AliasUse.SshDestination or AliasUse.TestSource
                ? throw new PolicyException(position, $"\"*\" is not allowed {UseName(use)}; name users, groups or tags")
                : new Alias(AliasKind.Wildcard, text, position);
        }

        if (text.StartsWith("group:", StringComparison.Ordinal))
        {
            if (!context.Groups.TryGetValue(text, out var users))
            {
                throw new PolicyException(position, $"{text} is not defined in groups");
            }

            if (use is AliasUse.TestSource or AliasUse.TestDestination)
            {
                throw new PolicyException(position, $"a test names one user, tag, host or IP, not a group ({text})");
            }

            return new Alias(AliasKind.Group, text, position) { Users = users };
        }

        if (text.StartsWith("tag:", StringComparison.Ordinal))
        {
            if (!context.TagOwners.ContainsKey(text))
            {
                throw new PolicyException(position, PolicyParser.IsTagName(text)
                    ? $"{text} is not defined in tagOwners; declare it there before using it"
                    : $"\"{text}\" is not a valid tag name");
            }

            return new Alias(AliasKind.Tag, text, position);
        }

        if (text.StartsWith("autogroup:", StringComparison.Ordinal))
        {
            return ParseAutogroup(text, position, use);
        }

        if (text.Contains('@'))
        {
            return PolicyParser.IsLogin(text)
                ? new Alias(AliasKind.User, text, position)
                : throw new PolicyException(position, $"\"{text}\" is not a valid user login");
        }

        if (use is AliasUse.SshSource or AliasUse.SshDestination)
        {
            throw new PolicyException(position, $"\"{text}\" is not allowed {UseName(use)}; ssh rules name users, groups, tags or autogroups");
        }

        if (context.Hosts.TryGetValue(text, out var hostPrefix))
        {
            return new Alias(AliasKind.Host, text, position) { Prefix = hostPrefix };
        }

        if (TryParsePrefix(text, out var prefix))
        {
            return new Alias(AliasKind.Prefix, text, position) { Prefix = prefix };
        }

        throw new PolicyException(position, $"unknown alias \"{text}\": expected \"*\", a user login (user@domain), group:, tag:, autogroup:, a name from hosts, an IP address or a CIDR prefix");
    }

    private static Alias ParseAutogroup(string text, TextPosition position, AliasUse use)
    {
        switch (text)
        {
            case "autogroup:member":
                return new Alias(AliasKind.AutogroupMember, text, position);
            case "autogroup:tagged":
                return new Alias(AliasKind.AutogroupTagged, text, position);
            case "autogroup:self":
                return use is AliasUse.Destination or AliasUse.SshDestination
                    ? new Alias(AliasKind.AutogroupSelf, text, position)
                    : throw new PolicyException(position, "autogroup:self can only be used as a destination");
            case "autogroup:internet":
                throw new PolicyException(position, "autogroup:internet (exit node traffic) is not supported by Meshwire");
            default:
                throw new PolicyException(position, $"{text} is not supported by Meshwire; supported autogroups are autogroup:member, autogroup:tagged and autogroup:self");
        }
    }

    /// <summary>Parses "alias:ports" (ports "*", "22", "80-90", "22,80,443"; IPv6 as "[addr]:port" or split at the last ':').</summary>
    public static (Alias Alias, IReadOnlyList<PortRange> Ports) ParseDestination(string text, TextPosition position, PolicyParser.ParseContext context, AliasUse use)
    {
        string host;
        string ports;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                throw new PolicyException(position, $"destination \"{text}\" must look like [ipv6]:port");
            }

            host = text[1..close];
            ports = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0 || text.AsSpan(colon + 1).ContainsAnyExcept("0123456789*,-"))
            {
                throw new PolicyException(position, $"destination \"{text}\" needs ports: write {text}:* for all ports or {text}:22 for one");
            }

            host = text[..colon];
            ports = text[(colon + 1)..];
        }

        var alias = Parse(host, position, context, use);
        return (alias, ParsePorts(ports, position, text));
    }

    public static IReadOnlyList<PortRange> ParsePorts(string text, TextPosition position, string context)
    {
        if (text == "*")
        {
            return [PortRange.All];
        }

        var ranges = new List<PortRange>();
        foreach (var part in text.Split(','))
        {
            var dash = part.IndexOf('-');
            var first = ParsePort(dash < 0 ? part : part[..dash], position, context);
            var last = dash < 0 ? first : ParsePort(part[(dash + 1)..], position, context);
            if (last < first)
            {
                throw new PolicyException(position, $"port range {part} in \"{context}\" ends before it starts");
            }

            ranges.Add(new PortRange(first, last));
        }

        return ranges;
    }

    private static ushort ParsePort(string text, TextPosition position, string context)
    {
        if (text.Length == 0 || text.Length > 5 || !text.All(char.IsAsciiDigit) || !ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new PolicyException(position, $"invalid port \"{text}\" in \"{context}\": ports are \"*\", a number 0-65535, a range a-b or a comma list");
        }

        return port;
    }

    /// <summary>A "proto" value: a protocol name (tcp, udp, icmp, ...) or an IANA number 0-255, as a string or number.</summary>
    public static ProtocolSet ParseProtocol(HuJsonValue value)
    {
        var text = value switch
        {
            HuJsonString s => s.Value,
            HuJsonNumber n => n.Text,
            _ => throw new PolicyException(value.Position, $"proto must be a protocol name or number, got {value.Kind}"),
        };
        return ParseProtocolText(text, value.Position);
    }

    public static ProtocolSet ParseProtocolText(string text, TextPosition position)
    {
        if (ProtocolNames.TryGetValue(text, out var set))
        {
            return set;
        }

        if (text.Length is > 0 and <= 3 && text.All(char.IsAsciiDigit) && int.Parse(text, CultureInfo.InvariantCulture) is var number and <= 255)
        {
            return ProtocolSet.Of((byte)number);
        }

        throw new PolicyException(position, $"unknown protocol \"{text}\": use a name (tcp, udp, icmp, sctp, gre, esp, ah, igmp, ...) or a number 0-255");
    }

    /// <summary>A grant "ip" entry: "*", "tcp:443", "443", "80-90", "icmp:*", "udp:53,5353".</summary>
    public static (ProtocolSet Protocols, IReadOnlyList<PortRange> Ports) ParseGrantIp(string text, TextPosition position)
    {
        if (text == "*")
        {
            return (ProtocolSet.Any, [PortRange.All]);
        }

        var colon = text.IndexOf(':');
        var protocols = colon < 0 ? ProtocolSet.Default : ParseProtocolText(text[..colon], position);
        var ports = ParsePorts(colon < 0 ? text : text[(colon + 1)..], position, text);
        CheckPortsAllowed(protocols, ports, position, text);
        return (protocols, ports);
    }

    /// <summary>Only TCP, UDP and SCTP carry ports; any other protocol must be given with "*".</summary>
    public static void CheckPortsAllowed(ProtocolSet protocols, IReadOnlyList<PortRange> ports, TextPosition position, string text)
    {
        if (protocols.OnlyPortProtocols || protocols == ProtocolSet.Default || protocols == ProtocolSet.Any)
        {
            return;
        }

        if (ports.Count != 1 || !ports[0].IsAll)
        {
            throw new PolicyException(position, $"\"{text}\": ports can only be given for tcp, udp and sctp; use \"*\" for protocol {protocols}");
        }
    }

    /// <summary>An IP address (as a /32 or /128) or a CIDR prefix, with host bits cleared.</summary>
    public static bool TryParsePrefix(string text, out IPNetwork prefix)
    {
        prefix = default;
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            if (!IPAddress.TryParse(text, out var address) || text.Contains('%') || !IsCanonicalAddressText(text))
            {
                return false;
            }

            prefix = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        if (!IPAddress.TryParse(text.AsSpan(0, slash), out var network) || !IsCanonicalAddressText(text[..slash])
            || !int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var bits))
        {
            return false;
        }

        var max = network.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
        if (bits > max)
        {
            return false;
        }

        prefix = new IPNetwork(Mask(network, bits), bits);
        return true;
    }

    // IPAddress.TryParse accepts forms like "1" or "1.2" (inet_aton); a policy must spell IPv4 as four parts.
    private static bool IsCanonicalAddressText(string text) => text.Contains(':') || text.Count(c => c == '.') == 3;

    private static IPAddress Mask(IPAddress address, int bits)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }

    private static string UseName(AliasUse use) => use switch
    {
        AliasUse.Source => "as a source",
        AliasUse.Destination => "as a destination",
        AliasUse.SshSource => "as an ssh source",
        AliasUse.SshDestination => "as an ssh destination",
        AliasUse.TestSource => "as a test source",
        _ => "as a test destination",
    };
}
