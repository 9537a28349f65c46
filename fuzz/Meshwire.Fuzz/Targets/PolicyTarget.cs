using System.Buffers.Binary;
using System.Net;
using System.Text;
using Meshwire.Policy.Commands;
using Meshwire.Policy.Compile;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;
using Meshwire.Policy.Parsing;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// Policy files (src/Meshwire.Policy/Parsing/PolicyParser.cs and the compiler): the input is a policy's text. Contract:
/// parsing throws nothing but <see cref="PolicyException"/>; an accepted policy compiles against a small fixed
/// tailnet without throwing (filters, packet filters, visibility, its own tests); visibility is symmetric and agrees
/// with the reference evaluator; the compiled filter of a node never lets through a probe packet the evaluator denies.
/// </summary>
public static class PolicyTarget
{
    public static readonly FuzzTarget Target = new("policy", "policy parser and compiler on a fixed 4-node tailnet", Run, Seeds);

    private static readonly TimeSpan Now = TimeSpan.FromDays(21);

    private static readonly PolicyNode[] Nodes =
    [
        Node("alice-laptop", "alice@example.com", [], 1),
        Node("bob-laptop", "bob@example.com", [], 2),
        Node("web1", "alice@example.com", ["tag:web"], 10),
        Node("db1", "bob@example.com", ["tag:db", "tag:prod"], 11),
    ];

    private static readonly (byte Protocol, ushort Port)[] Probes = [(6, 22), (6, 443), (17, 53), (1, 0), (58, 0), (47, 0)];

    public static void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        PolicyDocument policy;
        try
        {
            policy = PolicyParser.Parse(text);
        }
        catch (PolicyException)
        {
            return;
        }

        _ = PolicyTestRunner.Run(policy);
        var engine = new PolicyEngine(policy, Nodes);
        foreach (var node in Nodes)
        {
            var visible = engine.GetVisiblePeers(node.Id);
            var filter = engine.BuildPacketFilter(node.Id);
            foreach (var other in Nodes)
            {
                if (other == node)
                {
                    continue;
                }

                var sees = visible.Contains(other.Id);
                Check(sees == engine.GetVisiblePeers(other.Id).Contains(node.Id), $"{node} sees {other} but not the other way round (or the reverse)");
                var reach = PolicyEvaluator.CanReach(policy, node, other) || PolicyEvaluator.CanReach(policy, other, node);
                Check(sees == reach, $"{node} {(sees ? "sees" : "does not see")} {other}, but the evaluator says reach={reach}");

                // Inbound at `node` from `other`: what the compiled filter accepts, the evaluator must allow.
                foreach (var (protocol, port) in Probes)
                {
                    foreach (var v6 in (ReadOnlySpan<bool>)[false, true])
                    {
                        var packet = Packet(other, node, protocol, port, v6);
                        if (filter.Check(packet, Now).IsAccepted)
                        {
                            Check(PolicyEvaluator.FindRule(policy, other, node, protocol, port) is not null,
                                $"{node}'s filter accepts {(v6 ? "IPv6" : "IPv4")} protocol {protocol} port {port} from {other}, which no rule allows");
                        }
                    }
                }
            }
        }

        // A node changing tags and leaving: the incremental paths must not throw either.
        engine.UpsertNode(Nodes[0] with { Tags = ["tag:web"] });
        engine.RemoveNode(Nodes[1].Id);
        foreach (var node in engine.Nodes)
        {
            _ = engine.GetFilterRules(node.Id);
            _ = engine.GetVisiblePeers(node.Id);
        }
    }

    private static PolicyNode Node(string name, string owner, string[] tags, int host) =>
        new(new StableNodeId("n-" + name), name, owner, tags, [IPAddress.Parse($"100.64.0.{host}"), IPAddress.Parse($"fd7a:115c:a1e0::{host:x}")]);

    private static byte[] Packet(PolicyNode from, PolicyNode to, byte protocol, ushort port, bool v6)
    {
        var transport = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(transport, 40000);
        BinaryPrimitives.WriteUInt16BigEndian(transport.AsSpan(2), port);
        if (protocol == 6)
        {
            transport[12] = 5 << 4;
            transport[13] = 0x02;
        }
        else if (protocol is 1 or 58)
        {
            transport[0] = protocol == 1 ? (byte)8 : (byte)128;
        }

        var source = from.Addresses[v6 ? 1 : 0];
        var destination = to.Addresses[v6 ? 1 : 0];
        var header = v6 ? 40 : 20;
        var packet = new byte[header + transport.Length];
        if (v6)
        {
            packet[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)transport.Length);
            packet[6] = protocol;
            packet[7] = 64;
            source.TryWriteBytes(packet.AsSpan(8, 16), out _);
            destination.TryWriteBytes(packet.AsSpan(24, 16), out _);
        }
        else
        {
            packet[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
            packet[8] = 64;
            packet[9] = protocol;
            source.TryWriteBytes(packet.AsSpan(12, 4), out _);
            destination.TryWriteBytes(packet.AsSpan(16, 4), out _);
        }

        transport.CopyTo(packet, header);
        return packet;
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        string[] policies =
        [
            "{}",
            "{\"acls\": []}",
            """
            {
              // Everything the parser knows, once.
              "groups": {"group:eng": ["alice@example.com", "bob@example.com"]},
              "tagOwners": {"tag:web": ["group:eng"], "tag:db": ["bob@example.com"], "tag:prod": []},
              "hosts": {"office": "100.64.0.0/30", "v6net": "fd7a:115c:a1e0::/48"},
              "acls": [
                {"action": "accept", "src": ["group:eng"], "dst": ["tag:web:443", "office:22"]},
                {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self:*"]},
                {"action": "accept", "proto": "udp", "src": ["tag:web"], "dst": ["tag:db:53,5432-5433"]},
                {"action": "accept", "src": ["100.64.0.2"], "dst": ["[fd7a:115c:a1e0::a]:80"]},
              ],
              "grants": [
                {"src": ["autogroup:tagged"], "dst": ["v6net"], "ip": ["tcp:443", "icmp:*", "80-90"]},
              ],
              "ssh": [
                {"action": "accept", "src": ["autogroup:member"], "dst": ["autogroup:self"], "users": ["autogroup:nonroot", "root"]},
              ],
              "tests": [
                {"src": "alice@example.com", "accept": ["tag:web:443"], "deny": ["tag:web:22"]},
                {"src": "tag:web", "proto": "udp", "accept": ["tag:db:53"]},
              ],
            }
            """,
            "{\"acls\": [{\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]}]}",
            "{\"grants\": [{\"src\": [\"*\"], \"dst\": [\"*\"], \"ip\": [\"*\"]}]}",
            "{\"acls\": [{\"action\": \"accept\", \"src\": [\"group:nobody\"], \"dst\": [\"*:*\"]}]}",
        ];
        for (var i = 0; i < policies.Length; i++)
        {
            yield return ($"policy-{i}", Encoding.UTF8.GetBytes(policies[i]));
        }
    }
}
