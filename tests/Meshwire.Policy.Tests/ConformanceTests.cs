using Meshwire.Policy.Compile;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Model;
using Meshwire.Policy.Parsing;

namespace Meshwire.Policy.Tests;

/// <summary>Runs Conformance/cases.hujson: each case a policy, a pair of nodes and the expected verdict.</summary>
public sealed class ConformanceTests
{
    private static readonly Lazy<IReadOnlyList<HuJsonObject>> Cases = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Conformance", "cases.hujson");
        var root = (HuJsonArray)HuJsonReader.Parse(File.ReadAllText(path));
        return [.. root.Items.Cast<HuJsonObject>()];
    });

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Value.Select(c => Field(c, "name")!))
        {
            data.Add(name);
        }

        return data;
    }

    [Fact]
    public void Cases_AtLeastSixty_NamesUnique()
    {
        var names = Cases.Value.Select(c => Field(c, "name")).ToList();
        Assert.True(names.Count >= 60, $"only {names.Count} cases");
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Case_Verdict_MatchesExpectation(string name)
    {
        var testCase = Cases.Value.Single(c => Field(c, "name") == name);
        var expect = Field(testCase, "expect");
        var policyValue = testCase.Members.Single(m => m.Name == "policy").Value;
        if (expect == "error")
        {
            var error = Assert.Throws<PolicyException>(() => PolicyParser.Parse(policyValue));
            Assert.Contains(Field(testCase, "error")!, error.Reason, StringComparison.Ordinal);
            Assert.True(error.Position.IsKnown);
            return;
        }

        var policy = PolicyParser.Parse(policyValue);
        var source = Tailnet.Get(Field(testCase, "src")!);
        if (Field(testCase, "sshUser") is { } sshUser)
        {
            var rule = PolicyEvaluator.FindSshRule(policy, source, Tailnet.Get(Field(testCase, "dst")!), sshUser);
            var actual = rule is null ? "deny" : rule.Action == SshAction.Check ? "check" : "accept";
            Assert.Equal(expect, actual);
            return;
        }

        var dstText = Field(testCase, "dst")!;
        var colon = dstText.LastIndexOf(':');
        var destination = Tailnet.Get(dstText[..colon]);
        var port = ushort.Parse(dstText[(colon + 1)..]);
        var v6 = testCase.Members.Any(m => m.Name == "v6" && m.Value is HuJsonLiteral { Value: true });
        var protocol = ProtocolNumber(Field(testCase, "proto") ?? "tcp", v6);

        var evaluated = PolicyEvaluator.FindRule(policy, source, destination, protocol, port) is not null;
        Assert.True(evaluated == (expect == "accept"), $"evaluator said {(evaluated ? "accept" : "deny")}");

        var engine = new PolicyEngine(policy, Tailnet.Nodes);
        var filter = engine.BuildPacketFilter(destination.Id);
        var packet = Packets.Build(
            source.Addresses[v6 ? 1 : 0].ToString(),
            destination.Addresses[v6 ? 1 : 0].ToString(),
            protocol,
            protocol == ProtocolSet.Sctp ? Sctp(40000, port) : Packets.Transport(protocol, 40000, protocol is ProtocolSet.Icmp ? (ushort)8 : protocol is ProtocolSet.Icmpv6 ? (ushort)128 : port));
        var verdict = filter.Check(packet, TimeSpan.FromSeconds(1));
        Assert.True(verdict.IsAccepted == (expect == "accept"), $"compiled filter said {verdict}");

        if (expect == "accept")
        {
            Assert.Contains(source.Id, engine.GetVisiblePeers(destination.Id));
            Assert.Contains(destination.Id, engine.GetVisiblePeers(source.Id));
        }
    }

    private static byte ProtocolNumber(string name, bool v6) => name switch
    {
        "tcp" => ProtocolSet.Tcp,
        "udp" => ProtocolSet.Udp,
        "icmp" => v6 ? ProtocolSet.Icmpv6 : ProtocolSet.Icmp,
        "gre" => ProtocolSet.Gre,
        "sctp" => ProtocolSet.Sctp,
        _ => byte.Parse(name),
    };

    private static byte[] Sctp(ushort srcPort, ushort dstPort)
    {
        var header = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header, srcPort);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), dstPort);
        return header;
    }

    private static string? Field(HuJsonObject value, string name) =>
        (value.Members.FirstOrDefault(m => m.Name == name)?.Value as HuJsonString)?.Value;
}
