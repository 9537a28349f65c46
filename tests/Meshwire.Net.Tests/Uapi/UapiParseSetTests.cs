using System.Net;
using Meshwire.Core;
using Meshwire.Net.Uapi;

namespace Meshwire.Net.Tests.Uapi;

public sealed class UapiParseSetTests
{
    private static readonly string PeerA = TestKeys.Hex(1);
    private static readonly string PeerB = TestKeys.Hex(100);

    private static (bool Ok, Meshwire.WireGuard.Config.DeviceConfigUpdate? Update, int Errno) Parse(params string[] lines)
    {
        var ok = UapiProtocol.TryParseSet(lines, out var update, out var errno);
        return (ok, update, errno);
    }

    [Fact]
    public void TryParseSet_EveryDeviceKey_FillsUpdate()
    {
        var (ok, update, errno) = Parse($"private_key={TestKeys.Hex(7)}", "listen_port=51820", "fwmark=4294967295", "replace_peers=true");

        Assert.True(ok);
        Assert.Equal(0, errno);
        Assert.Equal(new NodePrivateKey(TestKeys.Key(7)), update!.PrivateKey);
        Assert.Equal((ushort)51820, update.ListenPort);
        Assert.Equal(uint.MaxValue, update.FirewallMark);
        Assert.True(update.ReplacePeers);
        Assert.Empty(update.Peers);
    }

    [Fact]
    public void TryParseSet_NoKeys_LeavesEverythingUnchanged()
    {
        var (ok, update, _) = Parse();

        Assert.True(ok);
        Assert.Null(update!.PrivateKey);
        Assert.Null(update.ListenPort);
        Assert.Null(update.FirewallMark);
        Assert.False(update.ReplacePeers);
    }

    [Fact]
    public void TryParseSet_ZeroPrivateKey_IsAllowedAndMeansRemove()
    {
        var (ok, update, _) = Parse($"private_key={new string('0', 64)}");

        Assert.True(ok);
        Assert.True(update!.PrivateKey!.Value.IsZero);
    }

    [Fact]
    public void TryParseSet_EveryPeerKey_FillsPeerInOrder()
    {
        var (ok, update, _) = Parse(
            $"public_key={PeerA}",
            "update_only=true",
            $"preshared_key={TestKeys.Hex(9)}",
            "endpoint=192.0.2.1:51820",
            "persistent_keepalive_interval=25",
            "replace_allowed_ips=true",
            "allowed_ip=10.0.0.0/24",
            "allowed_ip=fd00::/64",
            "protocol_version=1",
            $"public_key={PeerB}",
            "remove=true");

        Assert.True(ok);
        Assert.Equal(2, update!.Peers.Count);
        var a = update.Peers[0];
        Assert.Equal(new NodePublicKey(TestKeys.Key(1)), a.PublicKey);
        Assert.True(a.UpdateOnly);
        Assert.False(a.Remove);
        Assert.Equal(new PresharedKey(TestKeys.Key(9)), a.PresharedKey);
        Assert.Equal(IPEndPoint.Parse("192.0.2.1:51820"), a.Endpoint);
        Assert.Equal((ushort)25, a.PersistentKeepaliveInterval);
        Assert.True(a.ReplaceAllowedIps);
        Assert.Equal([IPNetwork.Parse("10.0.0.0/24"), IPNetwork.Parse("fd00::/64")], a.AllowedIps);
        var b = update.Peers[1];
        Assert.Equal(new NodePublicKey(TestKeys.Key(100)), b.PublicKey);
        Assert.True(b.Remove);
    }

    [Fact]
    public void TryParseSet_DeviceKeysThenPeers_KeepsBoth()
    {
        var (ok, update, _) = Parse("listen_port=1", $"public_key={PeerA}", "allowed_ip=0.0.0.0/0");

        Assert.True(ok);
        Assert.Equal((ushort)1, update!.ListenPort);
        Assert.Equal(IPNetwork.Parse("0.0.0.0/0"), Assert.Single(update.Peers[0].AllowedIps));
    }

    [Theory]
    [InlineData("endpoint=[2001:db8::1]:51820", "[2001:db8::1]:51820")]
    [InlineData("endpoint=[::ffff:192.0.2.1]:1", "[::ffff:192.0.2.1]:1")]
    [InlineData("endpoint=0.0.0.0:0", "0.0.0.0:0")]
    [InlineData("endpoint=255.255.255.255:65535", "255.255.255.255:65535")]
    public void TryParseSet_ValidEndpoint_Parses(string line, string expected)
    {
        var (ok, update, _) = Parse($"public_key={PeerA}", line);

        Assert.True(ok);
        Assert.Equal(IPEndPoint.Parse(expected), update!.Peers[0].Endpoint);
    }

    [Theory]
    [InlineData("allowed_ip=10.1.2.3/24", "10.1.2.0/24")]
    [InlineData("allowed_ip=10.1.2.3/32", "10.1.2.3/32")]
    [InlineData("allowed_ip=10.1.2.3/0", "0.0.0.0/0")]
    [InlineData("allowed_ip=fd00::1234/128", "fd00::1234/128")]
    [InlineData("allowed_ip=fd00:1:2:3::1/33", "fd00:1::/33")]
    [InlineData("allowed_ip=::/0", "::/0")]
    public void TryParseSet_AllowedIp_MasksHostBits(string line, string expected)
    {
        var (ok, update, _) = Parse($"public_key={PeerA}", line);

        Assert.True(ok);
        Assert.Equal(IPNetwork.Parse(expected), Assert.Single(update!.Peers[0].AllowedIps));
    }

    [Fact]
    public void TryParseSet_StopsAtBlankLine()
    {
        var (ok, update, _) = Parse("listen_port=5", "", "garbage");

        Assert.True(ok);
        Assert.Equal((ushort)5, update!.ListenPort);
    }

    [Fact]
    public void TryParseSet_Reader_ConsumesRequestThroughBlankLine()
    {
        using var reader = new StringReader("listen_port=bad\nfwmark=1\n\nget=1\n");

        Assert.False(UapiProtocol.TryParseSet(reader, out _, out var errno));
        Assert.Equal(UapiErrors.Invalid, errno);
        Assert.Equal("get=1", reader.ReadLine());
    }

    [Fact]
    public void TryParseSet_Reader_ValidRequest_Parses()
    {
        using var reader = new StringReader($"listen_port=5\npublic_key={PeerA}\nallowed_ip=10.0.0.0/8\n\nrest");

        Assert.True(UapiProtocol.TryParseSet(reader, out var update, out var errno));
        Assert.Equal(0, errno);
        Assert.Equal((ushort)5, update.ListenPort);
        Assert.Equal(IPNetwork.Parse("10.0.0.0/8"), Assert.Single(Assert.Single(update.Peers).AllowedIps));
        Assert.Equal("rest", reader.ReadToEnd());
    }

    [Theory]
    [InlineData("")]
    [InlineData("listen_port=5")]
    [InlineData("listen_port=5\n")]
    [InlineData("listen_port=5\npublic_key=0101010101010101010101010101010101010101010101010101010101010101\n")]
    public void TryParseSet_Reader_EndsBeforeBlankLine_RefusedWithEproto(string text)
    {
        using var reader = new StringReader(text);

        Assert.False(UapiProtocol.TryParseSet(reader, out var update, out var errno));
        Assert.Null(update);
        Assert.Equal(UapiErrors.Protocol, errno);
    }

    [Fact]
    public void TryParseSet_Reader_LineLongerThanBound_RefusedWithEmsgsizeWithoutReadingItAll()
    {
        using var reader = new StringReader("listen_port=" + new string('1', 1 << 20) + "\n\n");

        Assert.False(UapiProtocol.TryParseSet(reader, out var update, out var errno));
        Assert.Null(update);
        Assert.Equal(UapiErrors.MessageTooLong, errno);
        Assert.True(reader.ReadToEnd().Length > (1 << 20) - UapiLimits.MaxLineBytes);
    }

    [Fact]
    public void TryParseSet_Reader_NonAscii_RefusedWithEinval()
    {
        using var reader = new StringReader("listen_port=5\u00e9\n\n");

        Assert.False(UapiProtocol.TryParseSet(reader, out _, out var errno));
        Assert.Equal(UapiErrors.Invalid, errno);
    }

    public static TheoryData<string[]> InvalidRequests => new()
    {
        // Keys.
        new[] { "private_key=zz" + new string('0', 62) },
        new[] { "private_key=" + new string('0', 63) },
        new[] { "private_key=" + new string('0', 65) },
        new[] { "private_key=" },
        new[] { "public_key=" + new string('a', 63) },
        new[] { "public_key=" + new string('g', 64) },
        new[] { $"public_key={TestKeys.Hex(1)}", "preshared_key=" + new string('0', 63) },

        // Ports and numbers.
        new[] { "listen_port=70000" },
        new[] { "listen_port=65536" },
        new[] { "listen_port=-1" },
        new[] { "listen_port=+1" },
        new[] { "listen_port=" },
        new[] { "listen_port= 1" },
        new[] { "fwmark=4294967296" },
        new[] { "fwmark=0x10" },
        new[] { $"public_key={TestKeys.Hex(1)}", "persistent_keepalive_interval=65536" },
        new[] { $"public_key={TestKeys.Hex(1)}", "persistent_keepalive_interval=x" },

        // Endpoints.
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=192.0.2.1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=192.0.2.1:" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=192.0.2.1:70000" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=example.com:51820" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=localhost:51820" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=2001:db8::1:51820" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=[2001:db8::1]" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=[192.0.2.1]:1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=[[::1]]:1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=1.2.3:1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=1.2.3.256:1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=01.2.3.4:1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "endpoint=" },

        // Allowed IPs.
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=10.0.0.0/33" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=fd00::/129" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=10.0.0.0" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=10.0.0.0/" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=10.0.0.0/-1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=10.0.0/8" },
        new[] { $"public_key={TestKeys.Hex(1)}", "allowed_ip=host.example/32" },

        // Booleans accept only "true".
        new[] { "replace_peers=false" },
        new[] { "replace_peers=1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "remove=false" },
        new[] { $"public_key={TestKeys.Hex(1)}", "update_only=yes" },
        new[] { $"public_key={TestKeys.Hex(1)}", "replace_allowed_ips=TRUE" },

        // Protocol version, unknown keys, keys in the wrong section.
        new[] { $"public_key={TestKeys.Hex(1)}", "protocol_version=2" },
        new[] { $"public_key={TestKeys.Hex(1)}", "protocol_version=" },
        new[] { "bogus=1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "bogus=1" },
        new[] { "endpoint=192.0.2.1:1" },
        new[] { "allowed_ip=10.0.0.0/8" },
        new[] { "protocol_version=1" },
        new[] { "remove=true" },
        new[] { $"public_key={TestKeys.Hex(1)}", "listen_port=1" },
        new[] { $"public_key={TestKeys.Hex(1)}", "private_key=" + TestKeys.Hex(2) },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public void TryParseSet_InvalidLine_RejectsWholeUpdateWithEinval(string[] lines)
    {
        // A valid device key first: it must not survive the later error.
        var (ok, update, errno) = Parse(["listen_port=1234", .. lines]);

        Assert.False(ok);
        Assert.Null(update);
        Assert.Equal(-22, errno);
    }

    [Theory]
    [InlineData("listen_port")]
    [InlineData("garbage")]
    public void TryParseSet_LineWithoutEquals_RejectsWithEproto(string line)
    {
        var (ok, update, errno) = Parse("listen_port=1", line);

        Assert.False(ok);
        Assert.Null(update);
        Assert.Equal(-71, errno);
    }
}
