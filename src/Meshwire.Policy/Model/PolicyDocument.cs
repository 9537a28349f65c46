using System.Net;

namespace Meshwire.Policy.Model;

/// <summary>
/// A validated policy: immutable, so it can be shared by the compiler, the control server and tests.
/// Parse one with <see cref="Parsing.PolicyParser"/>.
/// </summary>
public sealed class PolicyDocument
{
    internal PolicyDocument(
        IReadOnlyList<NetworkRule> rules,
        bool isDefault,
        IReadOnlyDictionary<string, IReadOnlyList<string>> groups,
        IReadOnlyDictionary<string, IReadOnlyList<string>> tagOwners,
        IReadOnlyDictionary<string, IPNetwork> hosts,
        IReadOnlyList<SshRule> ssh,
        IReadOnlyList<PolicyTest> tests)
    {
        Rules = rules;
        IsDefault = isDefault;
        Groups = groups;
        TagOwners = tagOwners;
        Hosts = hosts;
        Ssh = ssh;
        Tests = tests;
    }

    /// <summary>acls then grants, in file order. Empty when the file has "acls": [] (deny all).</summary>
    public IReadOnlyList<NetworkRule> Rules { get; }

    /// <summary>True when the file had neither acls nor grants, so the allow-all default applies.</summary>
    public bool IsDefault { get; }

    /// <summary>group:name → member logins (groups cannot nest).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Groups { get; }

    /// <summary>tag:name → owners, as written (logins, groups, tags, autogroup:admin...).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> TagOwners { get; }

    public IReadOnlyDictionary<string, IPNetwork> Hosts { get; }

    public IReadOnlyList<SshRule> Ssh { get; }

    public IReadOnlyList<PolicyTest> Tests { get; }
}
