using Meshwire.Policy.Compile;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Commands;

/// <summary>One expectation of a policy test that did not hold.</summary>
public sealed record PolicyTestFailure(PolicyTest Test, TestDestination Destination, bool ExpectedAccept, NetworkRule? AllowingRule)
{
    public TextPosition Position => Destination.Position;

    public override string ToString() => ExpectedAccept
        ? $"tests[{Test.Index}]: {Test.Source.Text} -> {Destination.Text} should be accepted, but no rule allows it"
        : $"tests[{Test.Index}]: {Test.Source.Text} -> {Destination.Text} should be denied, but {AllowingRule} allows it";
}

/// <summary>
/// Runs a policy's "tests" section. Each test names one principal on each side, so it is evaluated on a
/// stand-in node: a user's own untagged node, a node carrying the one tag, or a node with the host's or
/// IP's address.
/// </summary>
public static class PolicyTestRunner
{
    public static IReadOnlyList<PolicyTestFailure> Run(PolicyDocument policy)
    {
        var failures = new List<PolicyTestFailure>();
        foreach (var test in policy.Tests)
        {
            var source = StandIn(test.Source, "test-source");
            foreach (var (destinations, expectAccept) in new[] { (test.Accept, true), (test.Deny, false) })
            {
                foreach (var destination in destinations)
                {
                    var target = StandIn(destination.Destination, "test-destination");
                    var rule = test.Protocols.Members().Select(p => PolicyEvaluator.FindRule(policy, source, target, p, destination.Port)).FirstOrDefault(r => r is not null);
                    if ((rule is not null) != expectAccept)
                    {
                        failures.Add(new PolicyTestFailure(test, destination, expectAccept, rule));
                    }
                }
            }
        }

        return failures;
    }

    internal static PolicyNode StandIn(Alias alias, string name) => alias.Kind switch
    {
        AliasKind.User => new PolicyNode(new StableNodeId(name), name, alias.Text, [], []),
        AliasKind.Tag => new PolicyNode(new StableNodeId(name), name, "", [alias.Text], []),
        AliasKind.Host or AliasKind.Prefix => new PolicyNode(new StableNodeId(name), name, "", [], [alias.Prefix.BaseAddress]),
        _ => throw new ArgumentException($"{alias.Kind} cannot stand for one node", nameof(alias)),
    };
}
