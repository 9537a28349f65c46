using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>What sits between a node and the lab bridge.</summary>
internal enum NatKind
{
    /// <summary>The node is on the bridge itself.</summary>
    None,

    /// <summary>Endpoint-independent mapping: plain MASQUERADE keeps the source port for every destination.</summary>
    Easy,

    /// <summary>Address-and-port-dependent mapping: MASQUERADE --random-fully picks a new port per destination.</summary>
    Hard,

    /// <summary>An easy NAT that drops every forwarded UDP packet; TCP (to control and the relay) still passes.</summary>
    UdpBlocked,
}

// Nodes behind a NAT router:
//   node namespace   mwt-PID-N-NAME: eth0 = 192.168.H.2/24, default route via 192.168.H.1
//   router namespace mwt-PID-N-NAME-nat: lan0 = 192.168.H.1/24, eth0 = 10.77.0.H/24 (a bridge port), forwarding on,
//                    iptables NAT (and filter) rules by NatKind
// H is the host number a bridge node would have had, so private subnets never repeat within a lab. The router
// namespace belongs to the node and goes with it.
internal sealed partial class TailnetLab
{
    /// <summary>Adds a node behind a router of <paramref name="kind"/> (on the bridge for None), with a reusable key.</summary>
    public async Task<TailnetNode> AddNatNodeAsync(string name, NatKind kind, params string[] tags)
    {
        var authKey = await CreateAuthKeyAsync(reusable: true, tags);
        if (kind == NatKind.None)
        {
            return AddNodeWithKey(name, authKey);
        }

        var host = _nextHost++;
        var router = new NetNamespace($"{Tag}-{name}-nat");
        NetNamespace? ns = null;
        TailnetNode? node = null;
        try
        {
            var wan = $"{Subnet}.{host}";
            AttachToBridge(router, host, wan);
            ns = new NetNamespace($"{Tag}-{name}");
            var (gateway, address) = ($"192.168.{host}.1", $"192.168.{host}.2");
            Shell.Run("ip", "link", "add", "lan0", "netns", router.Name, "type", "veth", "peer", "name", "eth0", "netns", ns.Name).EnsureSuccess("lan veth");
            router.Exec("ip", "addr", "add", $"{gateway}/24", "dev", "lan0").EnsureSuccess("router lan address");
            router.Exec("ip", "link", "set", "lan0", "up").EnsureSuccess("router lan up");
            router.Exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1").EnsureSuccess("forwarding");
            foreach (var rule in RouterRules(kind))
            {
                router.Exec("iptables", rule).EnsureSuccess($"iptables {string.Join(' ', rule)}");
            }

            ns.Exec("ip", "addr", "add", $"{address}/24", "dev", "eth0").EnsureSuccess("node address");
            ns.Exec("ip", "link", "set", "eth0", "up").EnsureSuccess("node link up");
            ns.Exec("ip", "route", "add", "default", "via", gateway).EnsureSuccess("default route");
            node = new TailnetNode(this, name, ns, address, $"mwt{host}", TempDirectory($"meshwire-lab-{name}"), authKey, router);
            _nodes.Add(node);
            node.Start();
        }
        catch
        {
            if (node is null)
            {
                ns?.Dispose();
                router.Dispose();
            }

            throw;
        }

        return node;
    }

    /// <summary>
    /// The router's rules. Every router, like a home router, serves nothing on its WAN side: unsolicited packets to it
    /// are dropped in INPUT. That matters for hole punching: dropped there, the packet's conntrack entry is never
    /// confirmed. Without the rule the router's own stack takes the packet (and answers port unreachable), the entry is
    /// confirmed, and when this node's first outbound packet to that peer follows, its mapping would collide with the
    /// entry and MASQUERADE would pick another port: two such routers punching at each other then never meet.
    /// </summary>
    private static string[][] RouterRules(NatKind kind)
    {
        string[][] wanInput = [["-A", "INPUT", "-i", "eth0", "-m", "conntrack", "--ctstate", "NEW,INVALID", "-j", "DROP"]];
        return kind switch
        {
            NatKind.Easy => [.. wanInput, ["-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE"]],
            NatKind.Hard => [.. wanInput, ["-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE", "--random-fully"]],
            NatKind.UdpBlocked =>
            [
                .. wanInput,
                ["-t", "nat", "-A", "POSTROUTING", "-o", "eth0", "-j", "MASQUERADE"],
                ["-A", "FORWARD", "-p", "udp", "-j", "DROP"],
            ],
            _ => [],
        };
    }
}
