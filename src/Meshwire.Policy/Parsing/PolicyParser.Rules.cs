using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Parsing;

// acls and grants: both become NetworkRule so the compiler and evaluator handle one shape.
public static partial class PolicyParser
{
    private static readonly string[] AclKeys = ["action", "src", "dst", "proto", "users", "ports"];
    private static readonly string[] GrantKeys = ["src", "dst", "ip"];
    private static readonly string[] UnsupportedRuleKeys = ["srcPosture", "app", "via"];

    private static void ReadAcls(HuJsonValue value, ParseContext context, List<NetworkRule> rules)
    {
        var items = AsArray(value, "acls").Items;
        for (var i = 0; i < items.Count; i++)
        {
            var where = $"acls[{i}]";
            var rule = AsObject(items[i], where);
            HuJsonMember? action = null, src = null, dst = null, proto = null;
            foreach (var member in rule.Members)
            {
                RefuseUnsupported(member, where);
                CheckKnown(member, AclKeys, where);
                switch (member.Name)
                {
                    case "action": action = member; break;
                    case "src" or "users": src = src is null ? member : throw Both(member, "src", "users", where); break;
                    case "dst" or "ports": dst = dst is null ? member : throw Both(member, "dst", "ports", where); break;
                    case "proto": proto = member; break;
                }
            }

            if (action is null)
            {
                throw new PolicyException(rule.Position, $"{where} has no \"action\"; the only action is \"accept\"");
            }

            var actionText = AsString(action.Value, "action");
            if (actionText.Value != "accept")
            {
                throw new PolicyException(actionText.Position, $"action \"{actionText.Value}\" is not valid: rules only allow (\"accept\"); anything not accepted is denied");
            }

            var protocols = proto is null ? ProtocolSet.Default : AliasParser.ParseProtocol(proto.Value);
            var sources = ReadAliases(Required(src, rule, where, "src"), context, AliasUse.Source, where + ".src");
            var targets = new List<RuleTarget>();
            foreach (var item in NonEmptyArray(Required(dst, rule, where, "dst"), where + ".dst").Items)
            {
                var text = AsString(item, where + ".dst entry");
                var (alias, ports) = AliasParser.ParseDestination(text.Value, text.Position, context, AliasUse.Destination);
                AliasParser.CheckPortsAllowed(protocols, ports, text.Position, text.Value);
                targets.Add(new RuleTarget(alias, protocols, ports));
            }

            rules.Add(new NetworkRule(RuleSection.Acls, i, rule.Position, sources, targets));
        }
    }

    private static void ReadGrants(HuJsonValue value, ParseContext context, List<NetworkRule> rules)
    {
        var items = AsArray(value, "grants").Items;
        for (var i = 0; i < items.Count; i++)
        {
            var where = $"grants[{i}]";
            var grant = AsObject(items[i], where);
            HuJsonMember? src = null, dst = null, ip = null;
            foreach (var member in grant.Members)
            {
                RefuseUnsupported(member, where);
                CheckKnown(member, GrantKeys, where);
                switch (member.Name)
                {
                    case "src": src = member; break;
                    case "dst": dst = member; break;
                    case "ip": ip = member; break;
                }
            }

            var sources = ReadAliases(Required(src, grant, where, "src"), context, AliasUse.Source, where + ".src");
            var destinations = ReadAliases(Required(dst, grant, where, "dst"), context, AliasUse.Destination, where + ".dst");
            var capabilities = new List<(ProtocolSet, IReadOnlyList<PortRange>)>();
            foreach (var item in NonEmptyArray(Required(ip, grant, where, "ip"), where + ".ip").Items)
            {
                var text = AsString(item, where + ".ip entry");
                capabilities.Add(AliasParser.ParseGrantIp(text.Value, text.Position));
            }

            var targets = new List<RuleTarget>();
            foreach (var destination in destinations)
            {
                foreach (var (protocols, ports) in capabilities)
                {
                    targets.Add(new RuleTarget(destination, protocols, ports));
                }
            }

            rules.Add(new NetworkRule(RuleSection.Grants, i, grant.Position, sources, targets));
        }
    }

    internal static IReadOnlyList<Alias> ReadAliases(HuJsonValue value, ParseContext context, AliasUse use, string where)
    {
        var aliases = new List<Alias>();
        foreach (var item in NonEmptyArray(value, where).Items)
        {
            var text = AsString(item, where + " entry");
            aliases.Add(AliasParser.Parse(text.Value, text.Position, context, use));
        }

        return aliases;
    }

    internal static HuJsonArray NonEmptyArray(HuJsonValue value, string where)
    {
        var array = AsArray(value, where);
        return array.Items.Count > 0 ? array : throw new PolicyException(array.Position, $"{where} must not be empty");
    }

    internal static HuJsonValue Required(HuJsonMember? member, HuJsonObject parent, string where, string name) =>
        member?.Value ?? throw new PolicyException(parent.Position, $"{where} has no \"{name}\"");

    private static void RefuseUnsupported(HuJsonMember member, string where)
    {
        if (Array.IndexOf(UnsupportedRuleKeys, member.Name) >= 0)
        {
            throw new PolicyException(member.NamePosition, $"\"{member.Name}\" in {where} is not supported by Meshwire yet");
        }
    }

    private static PolicyException Both(HuJsonMember member, string modern, string legacy, string where) =>
        new(member.NamePosition, $"{where} has both \"{modern}\" and its legacy name \"{legacy}\"; keep only \"{modern}\"");
}
