using System.Net;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Parsing;

/// <summary>
/// Turns a Tailscale-format policy (HuJSON) into a validated <see cref="PolicyDocument"/>.
/// </summary>
/// <remarks>
/// Flow: HuJsonReader builds a positioned tree → the top-level members are collected by name (unknown or
/// unsupported names fail here) → groups, tagOwners and hosts are read first whatever their place in the
/// file, because rules refer to them → acls, grants, ssh and tests are read and every alias resolved.
/// Every error is a <see cref="PolicyException"/> at the offending text. Names are case-sensitive, as
/// Tailscale treats them; only protocol names are matched case-insensitively.
/// </remarks>
public static partial class PolicyParser
{
    private static readonly string[] TopLevelKeys = ["acls", "grants", "groups", "tagOwners", "hosts", "ssh", "tests"];

    /// <summary>Tailscale sections Meshwire knows but does not implement; refused rather than silently ignored.</summary>
    private static readonly string[] UnsupportedTopLevelKeys =
        ["autoApprovers", "nodeAttrs", "postures", "defaultSrcPosture", "sshTests", "ipsets", "derpMap", "disableIPv4", "randomizeClientPort", "OneCGNATRoute", "attrConfig"];

    public static PolicyDocument Parse(string text) => Parse(HuJsonReader.Parse(text));

    /// <summary>Parses without throwing; <paramref name="error"/> is set on failure.</summary>
    public static bool TryParse(string text, out PolicyDocument? policy, out PolicyException? error)
    {
        try
        {
            policy = Parse(text);
            error = null;
            return true;
        }
        catch (PolicyException e)
        {
            policy = null;
            error = e;
            return false;
        }
    }

    internal static PolicyDocument Parse(HuJsonValue root)
    {
        var top = AsObject(root, "the policy");
        var sections = new Dictionary<string, HuJsonMember>(StringComparer.Ordinal);
        foreach (var member in top.Members)
        {
            if (Array.IndexOf(UnsupportedTopLevelKeys, member.Name) >= 0)
            {
                throw new PolicyException(member.NamePosition, $"the \"{member.Name}\" section is not supported by Meshwire yet; remove it");
            }

            CheckKnown(member, TopLevelKeys, "the policy");
            sections.Add(member.Name, member);
        }

        var context = new ParseContext();
        if (sections.TryGetValue("groups", out var groups))
        {
            ReadGroups(groups.Value, context);
        }

        if (sections.TryGetValue("tagOwners", out var tagOwners))
        {
            ReadTagOwners(tagOwners.Value, context);
        }

        if (sections.TryGetValue("hosts", out var hosts))
        {
            ReadHosts(hosts.Value, context);
        }

        var rules = new List<NetworkRule>();
        var hasAcls = sections.TryGetValue("acls", out var acls);
        var hasGrants = sections.TryGetValue("grants", out var grants);
        if (hasAcls)
        {
            ReadAcls(acls!.Value, context, rules);
        }

        if (hasGrants)
        {
            ReadGrants(grants!.Value, context, rules);
        }

        var isDefault = !hasAcls && !hasGrants;
        if (isDefault)
        {
            rules.Add(DefaultRule());
        }

        var ssh = sections.TryGetValue("ssh", out var sshMember) ? ReadSsh(sshMember.Value, context) : [];
        var tests = sections.TryGetValue("tests", out var testsMember) ? ReadTests(testsMember.Value, context) : [];
        return new PolicyDocument(rules, isDefault, context.Groups, context.TagOwners, context.Hosts, ssh, tests);
    }

    private static NetworkRule DefaultRule()
    {
        var wildcard = new Alias(AliasKind.Wildcard, "*", default);
        return new NetworkRule(RuleSection.Default, 0, default, [wildcard], [new RuleTarget(wildcard, ProtocolSet.Default, [PortRange.All])]);
    }

    private static void ReadGroups(HuJsonValue value, ParseContext context)
    {
        foreach (var member in AsObject(value, "groups").Members)
        {
            if (!member.Name.StartsWith("group:", StringComparison.Ordinal) || !IsName(member.Name.AsSpan(6)))
            {
                throw new PolicyException(member.NamePosition, $"group name \"{member.Name}\" must be group: followed by letters, digits, '-', '_' or '.'");
            }

            var users = new List<string>();
            foreach (var item in AsArray(member.Value, member.Name).Items)
            {
                var login = AsString(item, $"a member of {member.Name}");
                if (login.Value.StartsWith("group:", StringComparison.Ordinal))
                {
                    throw new PolicyException(item.Position, $"{member.Name} contains {login.Value}: groups cannot contain other groups; list the users instead");
                }

                if (login.Value.StartsWith("tag:", StringComparison.Ordinal) || login.Value.StartsWith("autogroup:", StringComparison.Ordinal))
                {
                    throw new PolicyException(item.Position, $"{member.Name} contains {login.Value}: groups can only contain user logins");
                }

                if (!IsLogin(login.Value))
                {
                    throw new PolicyException(item.Position, $"\"{login.Value}\" in {member.Name} is not a user login (user@domain)");
                }

                users.Add(login.Value);
            }

            context.Groups.Add(member.Name, users);
        }
    }

    private static void ReadTagOwners(HuJsonValue value, ParseContext context)
    {
        var section = AsObject(value, "tagOwners");
        foreach (var member in section.Members)
        {
            if (!IsTagName(member.Name))
            {
                throw new PolicyException(member.NamePosition, $"tag name \"{member.Name}\" must be tag: followed by a letter, then letters, digits or '-'");
            }
        }

        // Owners may name tags declared later in the same object, so declare all names first.
        var declared = section.Members.Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var member in section.Members)
        {
            var owners = new List<string>();
            foreach (var item in AsArray(member.Value, member.Name).Items)
            {
                var owner = AsString(item, $"an owner of {member.Name}").Value;
                var valid = owner switch
                {
                    _ when owner.StartsWith("group:", StringComparison.Ordinal) => context.Groups.ContainsKey(owner)
                        ? true
                        : throw new PolicyException(item.Position, $"{owner} is not defined in groups"),
                    _ when owner.StartsWith("tag:", StringComparison.Ordinal) => declared.Contains(owner)
                        ? true
                        : throw new PolicyException(item.Position, $"{owner} is not defined in tagOwners"),
                    "autogroup:admin" or "autogroup:owner" or "autogroup:member" or "autogroup:it-admin" or "autogroup:network-admin" => true,
                    _ => IsLogin(owner),
                };
                if (!valid)
                {
                    throw new PolicyException(item.Position, $"\"{owner}\" cannot own {member.Name}; owners are users, groups, tags or autogroup:admin");
                }

                owners.Add(owner);
            }

            context.TagOwners.Add(member.Name, owners);
        }
    }

    private static void ReadHosts(HuJsonValue value, ParseContext context)
    {
        foreach (var member in AsObject(value, "hosts").Members)
        {
            if (!IsHostName(member.Name))
            {
                throw new PolicyException(member.NamePosition, $"host name \"{member.Name}\" must start with a letter or digit and contain only letters, digits, '-', '_' or '.'");
            }

            if (IPAddress.TryParse(member.Name, out _))
            {
                throw new PolicyException(member.NamePosition, $"host name \"{member.Name}\" looks like an IP address; choose a name");
            }

            var text = AsString(member.Value, member.Name);
            if (!AliasParser.TryParsePrefix(text.Value, out var prefix))
            {
                throw new PolicyException(text.Position, $"host {member.Name} must be an IP address or CIDR prefix, got \"{text.Value}\"");
            }

            context.Hosts.Add(member.Name, prefix);
        }
    }

    internal static void CheckKnown(HuJsonMember member, string[] known, string where)
    {
        if (Array.IndexOf(known, member.Name) < 0)
        {
            throw new PolicyException(member.NamePosition, $"unknown field \"{member.Name}\" in {where}; expected one of: {string.Join(", ", known)}");
        }
    }

    internal static HuJsonObject AsObject(HuJsonValue value, string what) =>
        value as HuJsonObject ?? throw new PolicyException(value.Position, $"{what} must be an object, got {value.Kind}");

    internal static HuJsonArray AsArray(HuJsonValue value, string what) =>
        value as HuJsonArray ?? throw new PolicyException(value.Position, $"{what} must be an array, got {value.Kind}");

    internal static HuJsonString AsString(HuJsonValue value, string what) =>
        value as HuJsonString ?? throw new PolicyException(value.Position, $"{what} must be a string, got {value.Kind}");

    internal static bool IsLogin(string text)
    {
        var at = text.IndexOf('@');
        return at > 0 && at < text.Length - 1 && text.IndexOf('@', at + 1) < 0
            && !text.AsSpan().ContainsAny(" \t\r\n:*,[]");
    }

    internal static bool IsTagName(string text)
    {
        if (!text.StartsWith("tag:", StringComparison.Ordinal) || text.Length == 4 || !char.IsAsciiLetter(text[4]))
        {
            return false;
        }

        foreach (var c in text.AsSpan(5))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsName(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_' && c != '.')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHostName(string text) => IsName(text) && char.IsAsciiLetterOrDigit(text[0]);

    /// <summary>The sections rules refer to, filled before the rules are read.</summary>
    internal sealed class ParseContext
    {
        public Dictionary<string, IReadOnlyList<string>> Groups { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, IReadOnlyList<string>> TagOwners { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, IPNetwork> Hosts { get; } = new(StringComparer.Ordinal);
    }
}
