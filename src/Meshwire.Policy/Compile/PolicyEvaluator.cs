using Meshwire.Policy.Model;

namespace Meshwire.Policy.Compile;

/// <summary>
/// Answers "is this flow allowed, and by which rule" directly from the policy, one pair of nodes at a time.
/// Used by policy tests, `policy explain` and as the reference the compiled filters are tested against.
/// Cost: O(total aliases in the policy) per question.
/// </summary>
public static class PolicyEvaluator
{
    /// <summary>The first rule allowing <paramref name="protocol"/> to <paramref name="port"/> from src to dst, or null.</summary>
    public static NetworkRule? FindRule(PolicyDocument policy, PolicyNode source, PolicyNode destination, byte protocol, int port)
    {
        foreach (var rule in policy.Rules)
        {
            if (!AliasMatcher.MatchesAny(rule.Sources, source))
            {
                continue;
            }

            foreach (var target in rule.Targets)
            {
                if (target.Protocols.Contains(protocol)
                    && (!CarriesPorts(protocol) || target.Ports.Any(p => p.Contains(port)))
                    && AliasMatcher.Matches(target.Destination, destination, source))
                {
                    return rule;
                }
            }
        }

        return null;
    }

    /// <summary>True when any rule lets src reach dst at all (any protocol or port).</summary>
    public static bool CanReach(PolicyDocument policy, PolicyNode source, PolicyNode destination)
    {
        foreach (var rule in policy.Rules)
        {
            if (AliasMatcher.MatchesAny(rule.Sources, source)
                && rule.Targets.Any(t => AliasMatcher.Matches(t.Destination, destination, source)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The first ssh rule letting src log in to dst as <paramref name="localUser"/>, or null (denied).</summary>
    public static SshRule? FindSshRule(PolicyDocument policy, PolicyNode source, PolicyNode destination, string localUser)
    {
        foreach (var rule in policy.Ssh)
        {
            if (AliasMatcher.MatchesAny(rule.Sources, source)
                && rule.Destinations.Any(d => AliasMatcher.Matches(d, destination, source))
                && rule.Users.Any(u => SshUserMatches(u, localUser, source)))
            {
                return rule;
            }
        }

        return null;
    }

    internal static bool CarriesPorts(byte protocol) => protocol is ProtocolSet.Tcp or ProtocolSet.Udp or ProtocolSet.Sctp;

    private static bool SshUserMatches(string pattern, string localUser, PolicyNode source)
    {
        if (pattern == "autogroup:nonroot")
        {
            return localUser != "root";
        }

        const string LocalPart = "localpart:*@";
        if (pattern.StartsWith(LocalPart, StringComparison.Ordinal))
        {
            var domain = pattern[LocalPart.Length..];
            var login = source.OwnerLogin;
            return source.IsUserOwned
                && login.EndsWith("@" + domain, StringComparison.Ordinal)
                && login[..^(domain.Length + 1)] == localUser;
        }

        return pattern == localUser;
    }
}
