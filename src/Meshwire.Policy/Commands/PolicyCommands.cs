using System.Net;
using Meshwire.Policy.Compile;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;
using Meshwire.Policy.Parsing;

namespace Meshwire.Policy.Commands;

/// <summary>The answer to "which rule allows this flow?".</summary>
public sealed record ExplainResult(bool Allowed, NetworkRule? Rule, string Message)
{
    /// <summary>Index of the allowing rule within its section (acls or grants), or -1.</summary>
    public int RuleIndex => Rule?.Index ?? -1;

    /// <summary>Where the allowing rule starts in the policy text (unknown for the built-in default rule).</summary>
    public TextPosition RulePosition => Rule?.Position ?? default;

    public override string ToString() => Message;
}

/// <summary>
/// What `meshwire-control policy check` and `policy explain` run. Check prints human-readable lines
/// ("path:line:col: message") and returns the process exit code.
/// </summary>
public static class PolicyCommands
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;

    /// <summary>Reads and validates the policy at <paramref name="path"/>, runs its tests, prints each failure. 0 when valid and all tests pass.</summary>
    public static int Check(string path, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!PolicyFile.TryRead(path, PolicyFile.MaxBytes, out var text, out var error))
        {
            output.WriteLine($"{path}: error: {error}");
            return ExitFailed;
        }

        return CheckText(text, path, output);
    }

    /// <summary>Validates the policy <paramref name="text"/> and runs its tests; lines name it <paramref name="name"/>. 0 when valid and all tests pass.</summary>
    public static int CheckText(string text, string name, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(output);
        var path = name;
        PolicyDocument policy;
        try
        {
            policy = PolicyParser.Parse(text);
        }
        catch (PolicyException e)
        {
            output.WriteLine($"{path}:{e.Position.Line}:{e.Position.Column}: error: {e.Reason}");
            return ExitFailed;
        }

        var failures = PolicyTestRunner.Run(policy);
        foreach (var failure in failures)
        {
            output.WriteLine($"{path}:{failure.Position.Line}:{failure.Position.Column}: test failed: {failure}");
        }

        var testCount = policy.Tests.Sum(t => t.Accept.Count + t.Deny.Count);
        if (failures.Count > 0)
        {
            output.WriteLine($"{path}: {failures.Count} of {testCount} test assertions failed");
            return ExitFailed;
        }

        output.WriteLine($"{path}: ok ({policy.Rules.Count} rules, {policy.Ssh.Count} ssh rules, {testCount} test assertions passed)");
        return ExitOk;
    }

    /// <summary>
    /// Which rule lets <paramref name="source"/> reach <paramref name="destination"/> ("node:port"). Nodes are
    /// named by name, stable id or one of their addresses; <paramref name="protocol"/> is a name or number.
    /// </summary>
    public static ExplainResult Explain(PolicyDocument policy, IEnumerable<PolicyNode> nodes, string source, string destination, string protocol = "tcp")
    {
        ArgumentNullException.ThrowIfNull(policy);
        var all = nodes.ToList();
        var colon = destination.LastIndexOf(':');
        if (colon <= 0 || !ushort.TryParse(destination.AsSpan(colon + 1), out var port))
        {
            throw new ArgumentException($"destination \"{destination}\" must be node:port", nameof(destination));
        }

        var src = FindNode(all, source) ?? throw new ArgumentException($"no node named \"{source}\"", nameof(source));
        var dstName = destination[..colon].Trim('[', ']');
        var dst = FindNode(all, dstName) ?? throw new ArgumentException($"no node named \"{dstName}\"", nameof(destination));
        var protocols = AliasParser.ParseProtocolText(protocol, default);
        foreach (var p in protocols.Members())
        {
            if (PolicyEvaluator.FindRule(policy, src, dst, p, port) is { } rule)
            {
                return new ExplainResult(true, rule, $"{src.Name} -> {dst.Name}:{port}/{protocol} is allowed by {rule}");
            }
        }

        return new ExplainResult(false, null, $"{src.Name} -> {dst.Name}:{port}/{protocol} is denied: no rule allows it");
    }

    private static PolicyNode? FindNode(List<PolicyNode> nodes, string name)
    {
        var address = IPAddress.TryParse(name, out var parsed) ? parsed : null;
        return nodes.FirstOrDefault(n => n.Name == name)
            ?? nodes.FirstOrDefault(n => n.Id.Value == name)
            ?? (address is null ? null : nodes.FirstOrDefault(n => n.Addresses.Contains(address)));
    }
}
