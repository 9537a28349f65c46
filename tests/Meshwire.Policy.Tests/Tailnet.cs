using System.Net;
using Meshwire.Policy.Compile;

namespace Meshwire.Policy.Tests;

/// <summary>The fixed tailnet every conformance case runs against.</summary>
internal static class Tailnet
{
    public static readonly IReadOnlyList<PolicyNode> Nodes =
    [
        Node("alice-laptop", "alice@example.com", [], "100.64.0.1", "fd7a:115c:a1e0::1"),
        Node("alice-phone", "alice@example.com", [], "100.64.0.2", "fd7a:115c:a1e0::2"),
        Node("bob-laptop", "bob@example.com", [], "100.64.0.3", "fd7a:115c:a1e0::3"),
        Node("carol-laptop", "carol@example.com", [], "100.64.0.4", "fd7a:115c:a1e0::4"),
        Node("dave-laptop", "Dave@example.com", [], "100.64.0.5", "fd7a:115c:a1e0::5"),
        Node("web1", "alice@example.com", ["tag:web"], "100.64.0.10", "fd7a:115c:a1e0::10"),
        Node("db1", "bob@example.com", ["tag:db"], "100.64.0.11", "fd7a:115c:a1e0::11"),
        Node("prod-web", "bob@example.com", ["tag:prod", "tag:web"], "100.64.0.12", "fd7a:115c:a1e0::12"),
        Node("monitor", "carol@example.com", ["tag:monitoring"], "100.64.0.13", "fd7a:115c:a1e0::13"),
        Node("nas", "carol@example.com", [], "100.64.0.20", "fd7a:115c:a1e0::20"),
    ];

    public static PolicyNode Get(string name) => Nodes.Single(n => n.Name == name);

    public static PolicyNode Node(string name, string owner, string[] tags, params string[] addresses) =>
        new(new StableNodeId("n-" + name), name, owner, tags, [.. addresses.Select(IPAddress.Parse)]);
}
