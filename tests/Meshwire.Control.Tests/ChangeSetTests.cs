using Meshwire.Control.Replication;

namespace Meshwire.Control.Tests;

public sealed class ChangeSetTests
{
    [Fact]
    public void ToPayload_NodesAndFlags_ParsesBack()
    {
        var changes = new ChangeSet { Policy = true, Users = true };
        changes.Nodes.UnionWith(["n2", "n1"]);
        var payload = changes.ToPayload("abc");
        Assert.Equal("replica=abc policy users nodes=n1,n2", payload);
        Assert.True(ChangeSet.TryParse(payload, out var replica, out var parsed));
        Assert.Equal("abc", replica);
        Assert.True(parsed.Policy && parsed.Users && !parsed.Relays && !parsed.All);
        Assert.Equal(["n1", "n2"], parsed.Nodes.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ToPayload_TooManyNodes_FallsBackToAll()
    {
        var changes = new ChangeSet();
        changes.Nodes.UnionWith(Enumerable.Range(0, 1000).Select(i => $"n{i:x16}"));
        var payload = changes.ToPayload("abc");
        Assert.Equal("replica=abc all", payload);
        Assert.True(ChangeSet.TryParse(payload, out _, out var parsed));
        Assert.True(parsed.All);
    }

    [Theory]
    [InlineData("")]
    [InlineData("nodes=n1")]
    [InlineData("replica= policy")]
    public void TryParse_NotAPayload_False(string payload) => Assert.False(ChangeSet.TryParse(payload, out _, out _));

    [Fact]
    public void TryParse_UnknownToken_ReloadsAll()
    {
        Assert.True(ChangeSet.TryParse("replica=abc dns", out _, out var parsed));
        Assert.True(parsed.All);
    }
}
