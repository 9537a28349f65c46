using Meshwire.Policy.Compile;
using Meshwire.Policy.Parsing;

namespace Meshwire.Policy.Tests;

public sealed class PolicyEngineTests
{
    private const string Policy = """
        {
          "groups": {"group:eng": ["alice@example.com", "bob@example.com"]},
          "tagOwners": {"tag:web": [], "tag:db": [], "tag:prod": [], "tag:monitoring": []},
          "acls": [
            {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443"]},
            {"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]},
            {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
            {"action": "accept", "src": ["tag:monitoring"], "dst": ["*:9100"]},
          ],
        }
        """;

    [Fact]
    public void GetFilterRules_TaggedServer_OnlyItsRules()
    {
        var engine = new PolicyEngine(PolicyParser.Parse(Policy), Tailnet.Nodes);
        var rules = engine.GetFilterRules(Tailnet.Get("db1").Id);
        Assert.Equal(2, rules.Count);
        Assert.Contains(rules, r => r.Destinations.All(d => d.Ports.First == 5432) && r.Sources.Count == 2 * 2);
        Assert.Contains(rules, r => r.Destinations.All(d => d.Ports.First == 9100));
    }

    [Fact]
    public void GetFilterRules_SharedSourceLists_ReusedAcrossNodes()
    {
        var engine = new PolicyEngine(PolicyParser.Parse(Policy), Tailnet.Nodes);
        var web = engine.GetFilterRules(Tailnet.Get("web1").Id).First(r => r.Origin!.Index == 0);
        var prod = engine.GetFilterRules(Tailnet.Get("prod-web").Id).First(r => r.Origin!.Index == 0);
        Assert.Same(web.Sources, prod.Sources);
    }

    [Fact]
    public void GetVisiblePeers_EitherDirection_Symmetric()
    {
        var engine = new PolicyEngine(PolicyParser.Parse(Policy), Tailnet.Nodes);
        var db = Tailnet.Get("db1").Id;
        var web = Tailnet.Get("web1").Id;
        Assert.Contains(web, engine.GetVisiblePeers(db));
        Assert.Contains(db, engine.GetVisiblePeers(web));
        Assert.DoesNotContain(Tailnet.Get("carol-laptop").Id, engine.GetVisiblePeers(db));
        foreach (var a in Tailnet.Nodes)
        {
            foreach (var b in engine.GetVisiblePeers(a.Id))
            {
                Assert.Contains(a.Id, engine.GetVisiblePeers(b));
            }
        }
    }

    [Fact]
    public void GetVisiblePeers_MatchesEvaluator()
    {
        var policy = PolicyParser.Parse(Policy);
        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        foreach (var a in Tailnet.Nodes)
        {
            var expected = Tailnet.Nodes.Where(b => b != a && (PolicyEvaluator.CanReach(policy, a, b) || PolicyEvaluator.CanReach(policy, b, a))).Select(b => b.Id).ToHashSet();
            Assert.True(expected.SetEquals(engine.GetVisiblePeers(a.Id)), a.Name);
        }
    }

    [Fact]
    public void UpsertNode_TagChange_RecomputesOnlyDependents()
    {
        var engine = new PolicyEngine(PolicyParser.Parse(Policy), Tailnet.Nodes);
        foreach (var node in Tailnet.Nodes)
        {
            engine.GetFilterRules(node.Id);
        }

        // monitor swaps tag:monitoring for tag:web: it now reaches db1 (tag:web → tag:db), so db1 is recomputed.
        var monitor = Tailnet.Get("monitor") with { Tags = ["tag:web"] };
        var affected = engine.UpsertNode(monitor);
        Assert.Contains(monitor.Id, affected);
        Assert.Contains(Tailnet.Get("db1").Id, affected);

        var db = engine.GetFilterRules(Tailnet.Get("db1").Id);
        Assert.Single(db);
        Assert.Equal(3 * 2, db[0].Sources.Count);
    }

    [Fact]
    public void UpsertNode_UnrelatedTag_LeavesOthersCached()
    {
        var policy = PolicyParser.Parse("""
            {"tagOwners": {"tag:web": [], "tag:db": [], "tag:lab": []},
             "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]}]}
            """);
        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        var before = engine.GetFilterRules(Tailnet.Get("db1").Id);
        var lab = Tailnet.Node("lab", "carol@example.com", ["tag:lab"], "100.64.0.30");
        var affected = engine.UpsertNode(lab);
        Assert.Equal([lab.Id], affected);
        Assert.Same(before, engine.GetFilterRules(Tailnet.Get("db1").Id));
    }

    [Fact]
    public void UpsertNode_NewSourceNode_DestinationFilterGainsAddress()
    {
        var policy = PolicyParser.Parse("""
            {"tagOwners": {"tag:web": [], "tag:db": []},
             "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]}]}
            """);
        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        var db = Tailnet.Get("db1").Id;
        Assert.Equal(2 * 2, engine.GetFilterRules(db)[0].Sources.Count);
        var web2 = Tailnet.Node("web2", "bob@example.com", ["tag:web"], "100.64.0.31");
        var affected = engine.UpsertNode(web2);
        Assert.Equal(new HashSet<StableNodeId> { web2.Id, db }, affected);
        Assert.Equal(5, engine.GetFilterRules(db)[0].Sources.Count);
        Assert.Contains(web2.Id, engine.GetVisiblePeers(db));
    }

    [Fact]
    public void RemoveNode_SourceGone_DestinationUpdated()
    {
        var policy = PolicyParser.Parse("""
            {"tagOwners": {"tag:web": [], "tag:db": []},
             "acls": [{"action": "accept", "src": ["tag:web"], "dst": ["tag:db:5432"]}]}
            """);
        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        var db = Tailnet.Get("db1").Id;
        engine.GetFilterRules(db);
        var affected = engine.RemoveNode(Tailnet.Get("web1").Id);
        Assert.Contains(db, affected);
        Assert.Equal(2, engine.GetFilterRules(db)[0].Sources.Count);
    }

    [Fact]
    public void UpsertNode_AutogroupSelf_OwnerDevicesUpdated()
    {
        var policy = PolicyParser.Parse("""{"acls": [{"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]}]}""");
        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        var phone = Tailnet.Get("alice-phone").Id;
        Assert.Equal(4, engine.GetFilterRules(phone)[0].Sources.Count);
        var tablet = Tailnet.Node("alice-tablet", "alice@example.com", [], "100.64.0.40");
        var affected = engine.UpsertNode(tablet);
        Assert.Contains(phone, affected);
        Assert.DoesNotContain(Tailnet.Get("bob-laptop").Id, affected);
        Assert.Equal(5, engine.GetFilterRules(phone)[0].Sources.Count);
    }

    [Fact]
    public void Constructor_DuplicateIds_Throws() =>
        Assert.Throws<ArgumentException>(() => new PolicyEngine(PolicyParser.Parse("{}"), [Tailnet.Nodes[0], Tailnet.Nodes[0]]));
}
