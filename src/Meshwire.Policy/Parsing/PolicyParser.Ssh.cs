using System.Globalization;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Parsing;

// ssh rules and tests.
public static partial class PolicyParser
{
    private static readonly string[] SshKeys = ["action", "src", "dst", "users", "checkPeriod"];
    private static readonly string[] TestKeys = ["src", "proto", "accept", "deny"];

    /// <summary>Bounds Tailscale documents for checkPeriod.</summary>
    private static readonly TimeSpan MinCheckPeriod = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan MaxCheckPeriod = TimeSpan.FromHours(168);

    private static List<SshRule> ReadSsh(HuJsonValue value, ParseContext context)
    {
        var rules = new List<SshRule>();
        var items = AsArray(value, "ssh").Items;
        for (var i = 0; i < items.Count; i++)
        {
            var where = $"ssh[{i}]";
            var rule = AsObject(items[i], where);
            HuJsonMember? action = null, src = null, dst = null, users = null, checkPeriod = null;
            foreach (var member in rule.Members)
            {
                if (member.Name == "acceptEnv")
                {
                    throw new PolicyException(member.NamePosition, $"\"acceptEnv\" in {where} is not supported by Meshwire yet");
                }

                CheckKnown(member, SshKeys, where);
                switch (member.Name)
                {
                    case "action": action = member; break;
                    case "src": src = member; break;
                    case "dst": dst = member; break;
                    case "users": users = member; break;
                    case "checkPeriod": checkPeriod = member; break;
                }
            }

            var actionText = AsString(Required(action, rule, where, "action"), where + ".action");
            var sshAction = actionText.Value switch
            {
                "accept" => SshAction.Accept,
                "check" => SshAction.Check,
                _ => throw new PolicyException(actionText.Position, $"ssh action must be \"accept\" or \"check\", got \"{actionText.Value}\""),
            };

            var sources = ReadAliases(Required(src, rule, where, "src"), context, AliasUse.SshSource, where + ".src");
            var destinations = ReadAliases(Required(dst, rule, where, "dst"), context, AliasUse.SshDestination, where + ".dst");
            var userList = new List<string>();
            foreach (var item in NonEmptyArray(Required(users, rule, where, "users"), where + ".users").Items)
            {
                var user = AsString(item, where + ".users entry");
                if (!IsSshUser(user.Value))
                {
                    throw new PolicyException(user.Position, $"\"{user.Value}\" is not a valid ssh user: use a local user name, \"root\", \"autogroup:nonroot\" or \"localpart:*@domain\"");
                }

                userList.Add(user.Value);
            }

            TimeSpan? period = null;
            if (checkPeriod is not null)
            {
                if (sshAction != SshAction.Check)
                {
                    throw new PolicyException(checkPeriod.NamePosition, "checkPeriod is only valid with action \"check\"");
                }

                period = ParseCheckPeriod(AsString(checkPeriod.Value, "checkPeriod"));
            }
            else if (sshAction == SshAction.Check)
            {
                period = TimeSpan.FromHours(12);
            }

            rules.Add(new SshRule(i, rule.Position, sshAction, sources, destinations, userList, period));
        }

        return rules;
    }

    /// <summary>"always" (re-check on every login, TimeSpan.Zero) or a Go-style duration such as "12h" or "1h30m".</summary>
    private static TimeSpan ParseCheckPeriod(HuJsonString text)
    {
        if (text.Value == "always")
        {
            return TimeSpan.Zero;
        }

        var total = TimeSpan.Zero;
        var span = text.Value.AsSpan();
        if (span.IsEmpty)
        {
            throw BadPeriod(text);
        }

        while (!span.IsEmpty)
        {
            var digits = 0;
            while (digits < span.Length && char.IsAsciiDigit(span[digits]))
            {
                digits++;
            }

            if (digits == 0 || digits > 6 || digits == span.Length)
            {
                throw BadPeriod(text);
            }

            var amount = int.Parse(span[..digits], NumberStyles.None, CultureInfo.InvariantCulture);
            total += span[digits] switch
            {
                'h' => TimeSpan.FromHours(amount),
                'm' => TimeSpan.FromMinutes(amount),
                's' => TimeSpan.FromSeconds(amount),
                _ => throw BadPeriod(text),
            };
            span = span[(digits + 1)..];
        }

        return total >= MinCheckPeriod && total <= MaxCheckPeriod
            ? total
            : throw new PolicyException(text.Position, $"checkPeriod {text.Value} is outside 1m..168h");
    }

    private static PolicyException BadPeriod(HuJsonString text) =>
        new(text.Position, $"checkPeriod \"{text.Value}\" is not a duration such as \"12h\", \"30m\" or \"always\"");

    private static bool IsSshUser(string user)
    {
        if (user is "root" or "autogroup:nonroot")
        {
            return true;
        }

        if (user.StartsWith("localpart:*@", StringComparison.Ordinal))
        {
            return user.Length > "localpart:*@".Length;
        }

        if (user.Length == 0 || user.Length > 32 || !(char.IsAsciiLetter(user[0]) || user[0] == '_'))
        {
            return false;
        }

        return user.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
    }

    private static List<PolicyTest> ReadTests(HuJsonValue value, ParseContext context)
    {
        var tests = new List<PolicyTest>();
        var items = AsArray(value, "tests").Items;
        for (var i = 0; i < items.Count; i++)
        {
            var where = $"tests[{i}]";
            var test = AsObject(items[i], where);
            HuJsonMember? src = null, proto = null, accept = null, deny = null;
            foreach (var member in test.Members)
            {
                CheckKnown(member, TestKeys, where);
                switch (member.Name)
                {
                    case "src": src = member; break;
                    case "proto": proto = member; break;
                    case "accept": accept = member; break;
                    case "deny": deny = member; break;
                }
            }

            var srcText = AsString(Required(src, test, where, "src"), where + ".src");
            var source = RequireConcrete(AliasParser.Parse(srcText.Value, srcText.Position, context, AliasUse.TestSource));

            // A test without proto asks about TCP, the protocol people mean when they write host:port.
            var protocols = proto is null ? ProtocolSet.Of(ProtocolSet.Tcp) : AliasParser.ParseProtocol(proto.Value);
            var acceptList = accept is null ? [] : ReadTestDestinations(accept.Value, context, where + ".accept");
            var denyList = deny is null ? [] : ReadTestDestinations(deny.Value, context, where + ".deny");
            if (acceptList.Count == 0 && denyList.Count == 0)
            {
                throw new PolicyException(test.Position, $"{where} has neither \"accept\" nor \"deny\"");
            }

            tests.Add(new PolicyTest(i, test.Position, source, protocols, acceptList, denyList));
        }

        return tests;
    }

    /// <summary>A test asks about one principal: a user, a tag, a host or an IP.</summary>
    private static Alias RequireConcrete(Alias alias) => alias.Kind is AliasKind.User or AliasKind.Tag or AliasKind.Host or AliasKind.Prefix
        ? alias
        : throw new PolicyException(alias.Position, $"a test names one user, tag, host or IP, not {alias.Text}");

    private static List<TestDestination> ReadTestDestinations(HuJsonValue value, ParseContext context, string where)
    {
        var list = new List<TestDestination>();
        foreach (var item in AsArray(value, where).Items)
        {
            var text = AsString(item, where + " entry");
            var (alias, ports) = AliasParser.ParseDestination(text.Value, text.Position, context, AliasUse.TestDestination);
            if (ports.Count != 1 || ports[0].First != ports[0].Last)
            {
                throw new PolicyException(text.Position, $"test destination \"{text.Value}\" must name one port, such as {alias.Text}:443");
            }

            list.Add(new TestDestination(RequireConcrete(alias), ports[0].First, text.Value, text.Position));
        }

        return list;
    }
}
