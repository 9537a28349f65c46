namespace Meshwire.Policy.Compile;

internal enum PrincipalKind
{
    /// <summary>Every node ("*" as a destination).</summary>
    All,
    User,
    Tag,
    Member,
    Tagged,
}

/// <summary>
/// A node-membership key the compiler indexes by. Groups are expanded to their users when rules are
/// indexed, so a node belongs to at most 2 + |tags| principals: All, and either User+Member or Tag…+Tagged.
/// </summary>
internal readonly record struct Principal(PrincipalKind Kind, string Value)
{
    public static readonly Principal All = new(PrincipalKind.All, "");
    public static readonly Principal Member = new(PrincipalKind.Member, "");
    public static readonly Principal Tagged = new(PrincipalKind.Tagged, "");

    public static Principal User(string login) => new(PrincipalKind.User, login);

    public static Principal Tag(string tag) => new(PrincipalKind.Tag, tag);

    public static IEnumerable<Principal> Of(PolicyNode node)
    {
        yield return All;
        if (node.IsTagged)
        {
            yield return Tagged;
            foreach (var tag in node.Tags)
            {
                yield return Tag(tag);
            }
        }
        else if (node.IsUserOwned)
        {
            yield return Member;
            yield return User(node.OwnerLogin);
        }
    }
}
