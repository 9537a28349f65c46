using System.Net;
using BenchmarkDotNet.Attributes;
using Meshwire.Policy.Compile;
using Meshwire.Policy.Model;
using Meshwire.Policy.Parsing;

namespace Meshwire.Benchmarks.Policy;

/// <summary>
/// Compiles a 500-rule policy against a 10,000-node tailnet: builds the engine and every node's filter
/// (what the control server does at start-up), and measures one incremental tag change.
/// Tailnet: 1,000 users with 5 untagged nodes each, 5,000 tagged nodes over 100 tags; 50 groups of 20 users.
/// </summary>
[MemoryDiagnoser]
public class PolicyCompileBenchmarks
{
    private const int Users = 1000;
    private const int Tags = 100;
    private const int Groups = 50;
    private const int Rules = 500;

    private PolicyDocument _policy = null!;
    private List<PolicyNode> _nodes = null!;
    private PolicyEngine _engine = null!;
    private int _flip;

    [GlobalSetup]
    public void Setup()
    {
        _policy = PolicyParser.Parse(BuildPolicyText());
        _nodes = BuildNodes();
        _engine = new PolicyEngine(_policy, _nodes);
        foreach (var node in _nodes)
        {
            _engine.GetFilterRules(node.Id);
        }
    }

    [Benchmark]
    public int CompileAllFilters()
    {
        var engine = new PolicyEngine(_policy, _nodes);
        var total = 0;
        foreach (var node in _nodes)
        {
            total += engine.GetFilterRules(node.Id).Count;
        }

        return total;
    }

    [Benchmark]
    public int ChangeOneNodesTags()
    {
        var node = _nodes[Users * 5];
        var updated = node with { Tags = [$"tag:t{(_flip++ % 2 == 0 ? 1 : 0)}"] };
        var affected = _engine.UpsertNode(updated);
        foreach (var id in affected)
        {
            _engine.GetFilterRules(id);
        }

        return affected.Count;
    }

    internal static string BuildPolicyText()
    {
        var groups = string.Join(",\n", Enumerable.Range(0, Groups).Select(g =>
            $"\"group:g{g}\": [{string.Join(", ", Enumerable.Range(0, 20).Select(u => $"\"u{(g * 20) + u}@example.com\""))}]"));
        var tagOwners = string.Join(",\n", Enumerable.Range(0, Tags).Select(t => $"\"tag:t{t}\": [\"group:g0\"]"));
        var rules = string.Join(",\n", Enumerable.Range(0, Rules).Select(r => (r % 5) switch
        {
            0 => $"{{\"action\": \"accept\", \"src\": [\"group:g{r % Groups}\"], \"dst\": [\"tag:t{r % Tags}:443\", \"tag:t{(r + 1) % Tags}:8000-8099\"]}}",
            1 => $"{{\"action\": \"accept\", \"src\": [\"tag:t{r % Tags}\"], \"dst\": [\"tag:t{(r + 7) % Tags}:5432\"]}}",
            2 => $"{{\"action\": \"accept\", \"src\": [\"u{r}@example.com\", \"u{r + 1}@example.com\"], \"dst\": [\"group:g{(r + 3) % Groups}:22\"]}}",
            3 => $"{{\"action\": \"accept\", \"src\": [\"autogroup:member\"], \"dst\": [\"tag:t{r % Tags}:80,443\"]}}",
            _ => $"{{\"action\": \"accept\", \"src\": [\"100.{64 + (r % 4)}.0.0/16\"], \"proto\": \"udp\", \"dst\": [\"tag:t{r % Tags}:53\"]}}",
        }));
        return $"{{\"groups\": {{{groups}}},\n\"tagOwners\": {{{tagOwners}}},\n\"acls\": [\n{rules}\n]}}";
    }

    internal static List<PolicyNode> BuildNodes()
    {
        var nodes = new List<PolicyNode>();
        for (var i = 0; i < 10_000; i++)
        {
            var tagged = i >= Users * 5;
            var v4 = new IPAddress(new byte[] { 100, (byte)(64 + (i >> 16)), (byte)(i >> 8), (byte)i });
            var v6 = IPAddress.Parse($"fd7a:115c:a1e0::{i:x}");
            nodes.Add(new PolicyNode(
                new StableNodeId($"n{i}"),
                $"node{i}",
                $"u{(tagged ? i % Users : i / 5)}@example.com",
                tagged ? [$"tag:t{i % Tags}"] : [],
                [v4, v6]));
        }

        return nodes;
    }
}
