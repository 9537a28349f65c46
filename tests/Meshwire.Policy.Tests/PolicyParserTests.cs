using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;
using Meshwire.Policy.Parsing;

namespace Meshwire.Policy.Tests;

public sealed class PolicyParserTests
{
    [Fact]
    public void Parse_UnknownNestedKey_ErrorAtKey()
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse("""
            {
              "acls": [
                {"action": "accept", "src": ["*"], "dst": ["*:*"],
                 "bogus": 1},
              ],
            }
            """));
        Assert.Equal((4, 6), (error.Position.Line, error.Position.Column));
        Assert.Contains("unknown field \"bogus\"", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UndeclaredTag_ErrorAtTagString()
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse("{\"acls\": [{\"action\": \"accept\", \"src\": [\"tag:x\"], \"dst\": [\"*:*\"]}]}"));
        Assert.Equal(40, error.Position.Column);
    }

    [Fact]
    public void Parse_NoRuleSections_DefaultAllowAll()
    {
        var policy = PolicyParser.Parse("{\"groups\": {}}");
        Assert.True(policy.IsDefault);
        Assert.Single(policy.Rules);
        Assert.Equal(RuleSection.Default, policy.Rules[0].Section);
    }

    [Fact]
    public void Parse_EmptyAcls_NoRules()
    {
        var policy = PolicyParser.Parse("{\"acls\": []}");
        Assert.False(policy.IsDefault);
        Assert.Empty(policy.Rules);
    }

    [Fact]
    public void Parse_RulePositions_Recorded()
    {
        var policy = PolicyParser.Parse("{\n\"acls\": [\n  {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:22\"]},\n  {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:80\"]}\n]}");
        Assert.Equal(new TextPosition(4, 3, policy.Rules[1].Position.Offset), policy.Rules[1].Position);
    }

    [Fact]
    public void Parse_CheckPeriod_Parsed()
    {
        var policy = PolicyParser.Parse("{\"ssh\": [{\"action\": \"check\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self\"], \"users\": [\"root\"], \"checkPeriod\": \"1h30m\"}]}");
        Assert.Equal(TimeSpan.FromMinutes(90), policy.Ssh[0].CheckPeriod);
    }

    [Theory]
    [InlineData("\"10m0\"")]
    [InlineData("\"169h\"")]
    [InlineData("\"30s\"")]
    [InlineData("\"\"")]
    public void Parse_BadCheckPeriod_Error(string period) =>
        Assert.Throws<PolicyException>(() => PolicyParser.Parse("{\"ssh\": [{\"action\": \"check\", \"src\": [\"autogroup:member\"], \"dst\": [\"autogroup:self\"], \"users\": [\"root\"], \"checkPeriod\": " + period + "}]}"));

    [Fact]
    public void Parse_HostWithHostBits_Masked()
    {
        var policy = PolicyParser.Parse("{\"hosts\": {\"lan\": \"192.168.1.77/24\"}}");
        Assert.Equal("192.168.1.0/24", policy.Hosts["lan"].ToString());
    }

    [Fact]
    public void Parse_ShortIPv4Form_NotAnAddress() =>
        Assert.Throws<PolicyException>(() => PolicyParser.Parse("{\"hosts\": {\"x\": \"10.1\"}}"));

    [Fact]
    public void Parse_NamesAreCaseSensitive_TagCaseMismatchIsUndeclared() =>
        Assert.Throws<PolicyException>(() => PolicyParser.Parse("{\"tagOwners\": {\"tag:Web\": []}, \"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"tag:web:*\"]}]}"));

    [Fact]
    public void Parse_TestWithRange_Error()
    {
        var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse("{\"tests\": [{\"src\": \"a@example.com\", \"accept\": [\"100.64.0.1:1-2\"]}]}"));
        Assert.Contains("must name one port", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_Invalid_ReturnsError()
    {
        Assert.False(PolicyParser.TryParse("{", out var policy, out var error));
        Assert.Null(policy);
        Assert.NotNull(error);
    }
}
