using Meshwire.Policy.Commands;
using Meshwire.Policy.Parsing;

namespace Meshwire.Policy.Tests;

public sealed class PolicyCommandsTests
{
    private const string Passing = """
        {
          "groups": {"group:eng": ["alice@example.com"]},
          "tagOwners": {"tag:web": ["group:eng"]},
          "hosts": {"nas": "100.64.0.20"},
          "acls": [
            {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443", "nas:445"]},
          ],
          "tests": [
            {"src": "alice@example.com", "accept": ["tag:web:443", "nas:445"], "deny": ["tag:web:22"]},
            {"src": "bob@example.com", "deny": ["tag:web:443"]},
            {"src": "tag:web", "proto": "udp", "deny": ["nas:445"]},
          ],
        }
        """;

    [Fact]
    public void Check_ValidPolicyPassingTests_ExitZero()
    {
        var (code, output) = RunCheck(Passing);
        Assert.Equal(0, code);
        Assert.Contains("ok", output, StringComparison.Ordinal);
        Assert.Contains("5 test assertions passed", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_FailingTest_ExitOneWithPositionAndReason()
    {
        var failing = Passing.Replace("\"deny\": [\"tag:web:22\"]", "\"deny\": [\"tag:web:443\"]", StringComparison.Ordinal);
        var (code, output) = RunCheck(failing);
        Assert.Equal(1, code);
        Assert.Contains(":9:", output, StringComparison.Ordinal);
        Assert.Contains("should be denied, but acls[0] at line 6, column 5 allows it", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_FailingAcceptTest_SaysNoRule()
    {
        var failing = Passing.Replace("\"accept\": [\"tag:web:443\", \"nas:445\"]", "\"accept\": [\"tag:web:80\"]", StringComparison.Ordinal);
        var (code, output) = RunCheck(failing);
        Assert.Equal(1, code);
        Assert.Contains("tag:web:80 should be accepted, but no rule allows it", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_SyntaxError_ExitOneWithLineAndColumn()
    {
        var (code, output) = RunCheck("{\n  \"acls\": [\n    {\"action\": \"accept\" \"src\": []}\n  ]\n}");
        Assert.Equal(1, code);
        Assert.Contains(":3:25: error:", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_MissingFile_ExitOne()
    {
        var output = new StringWriter();
        Assert.Equal(1, PolicyCommands.Check(Path.Combine(Path.GetTempPath(), "meshwire-no-such-policy.hujson"), output));
        Assert.Contains("cannot read", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_AllowedFlow_NamesRuleAndPosition()
    {
        var policy = PolicyParser.Parse(Passing);
        var result = PolicyCommands.Explain(policy, Tailnet.Nodes, "alice-laptop", "web1:443");
        Assert.True(result.Allowed);
        Assert.Equal(0, result.RuleIndex);
        Assert.Equal((6, 5), (result.RulePosition.Line, result.RulePosition.Column));
        Assert.Contains("acls[0]", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_ByAddress_Works()
    {
        var result = PolicyCommands.Explain(PolicyParser.Parse(Passing), Tailnet.Nodes, "100.64.0.1", "100.64.0.20:445");
        Assert.True(result.Allowed);
    }

    [Fact]
    public void Explain_DeniedFlow_SaysNoRule()
    {
        var result = PolicyCommands.Explain(PolicyParser.Parse(Passing), Tailnet.Nodes, "bob-laptop", "web1:443", "udp");
        Assert.False(result.Allowed);
        Assert.Equal(-1, result.RuleIndex);
        Assert.Contains("no rule allows it", result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_DefaultPolicy_NamesDefaultRule()
    {
        var result = PolicyCommands.Explain(PolicyParser.Parse("{}"), Tailnet.Nodes, "bob-laptop", "web1:443");
        Assert.True(result.Allowed);
        Assert.Contains("default allow-all rule", result.Message, StringComparison.Ordinal);
    }

    private static (int Code, string Output) RunCheck(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"meshwire-policy-{Guid.NewGuid():N}.hujson");
        File.WriteAllText(path, text);
        try
        {
            var output = new StringWriter();
            var code = PolicyCommands.Check(path, output);
            return (code, output.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }
}
