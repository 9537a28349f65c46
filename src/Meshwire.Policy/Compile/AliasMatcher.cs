using Meshwire.Policy.Model;

namespace Meshwire.Policy.Compile;

/// <summary>Whether one alias selects one node; the single definition of alias meaning, shared by the evaluator and tests.</summary>
internal static class AliasMatcher
{
    /// <summary>autogroup:self needs the source; pass it as <paramref name="source"/> when matching destinations.</summary>
    public static bool Matches(Alias alias, PolicyNode node, PolicyNode? source = null) => alias.Kind switch
    {
        AliasKind.Wildcard => true,
        AliasKind.User => node.IsUserOwned && node.OwnerLogin == alias.Text,
        AliasKind.Group => node.IsUserOwned && alias.Users.Contains(node.OwnerLogin),
        AliasKind.Tag => node.Tags.Contains(alias.Text),
        AliasKind.Host or AliasKind.Prefix => node.Addresses.Any(alias.Prefix.Contains),
        AliasKind.AutogroupMember => node.IsUserOwned,
        AliasKind.AutogroupTagged => node.IsTagged,
        AliasKind.AutogroupSelf => source is not null && source.IsUserOwned && node.IsUserOwned && source.OwnerLogin == node.OwnerLogin,
        _ => false,
    };

    public static bool MatchesAny(IReadOnlyList<Alias> aliases, PolicyNode node)
    {
        foreach (var alias in aliases)
        {
            if (Matches(alias, node))
            {
                return true;
            }
        }

        return false;
    }
}
