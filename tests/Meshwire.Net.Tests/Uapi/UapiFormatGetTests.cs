using System.Net;
using Meshwire.Core;
using Meshwire.Net.Uapi;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Tests.Uapi;

public sealed class UapiFormatGetTests
{
    private static string Format(DeviceStatus status)
    {
        using var writer = new StringWriter();
        UapiProtocol.FormatGet(status, writer);
        return writer.ToString();
    }

    [Fact]
    public void FormatGet_FullDevice_MatchesGolden()
    {
        var status = new DeviceStatus(
            new NodePrivateKey(TestKeys.Key(1)),
            51820,
            0x1234,
            [
                new PeerStatus(
                    new NodePublicKey(TestKeys.Key(2)),
                    new PresharedKey(TestKeys.Key(3)),
                    IPEndPoint.Parse("192.0.2.7:51821"),
                    25,
                    DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddTicks(1234567),
                    RxBytes: 2000,
                    TxBytes: 1000,
                    [IPNetwork.Parse("10.0.0.0/24"), IPNetwork.Parse("fd00::/64")]),
                new PeerStatus(
                    new NodePublicKey(TestKeys.Key(4)),
                    PresharedKey.None,
                    null,
                    0,
                    null,
                    0,
                    0,
                    []),
            ]);

        var expected =
            $"private_key={TestKeys.Hex(1)}\n" +
            "listen_port=51820\n" +
            "fwmark=4660\n" +
            $"public_key={TestKeys.Hex(2)}\n" +
            $"preshared_key={TestKeys.Hex(3)}\n" +
            "protocol_version=1\n" +
            "endpoint=192.0.2.7:51821\n" +
            "last_handshake_time_sec=1700000000\n" +
            "last_handshake_time_nsec=123456700\n" +
            "tx_bytes=1000\n" +
            "rx_bytes=2000\n" +
            "persistent_keepalive_interval=25\n" +
            "allowed_ip=10.0.0.0/24\n" +
            "allowed_ip=fd00::/64\n" +
            $"public_key={TestKeys.Hex(4)}\n" +
            "protocol_version=1\n" +
            "last_handshake_time_sec=0\n" +
            "last_handshake_time_nsec=0\n" +
            "tx_bytes=0\n" +
            "rx_bytes=0\n" +
            "persistent_keepalive_interval=0\n" +
            "errno=0\n" +
            "\n";
        Assert.Equal(expected, Format(status));
    }

    [Fact]
    public void FormatGet_EmptyDevice_OnlyErrno()
    {
        Assert.Equal("errno=0\n\n", Format(new DeviceStatus(null, 0, 0, [])));
    }

    [Fact]
    public void FormatGet_ZeroPrivateKey_IsOmitted()
    {
        Assert.Equal("listen_port=1\nerrno=0\n\n", Format(new DeviceStatus(new NodePrivateKey(Key32.Zero), 1, 0, [])));
    }

    [Theory]
    [InlineData("[2001:db8::1]:443", "endpoint=[2001:db8::1]:443")]
    [InlineData("[::ffff:192.0.2.1]:443", "endpoint=192.0.2.1:443")]
    public void FormatGet_Endpoint_UsesUapiForm(string endpoint, string expectedLine)
    {
        var peer = new PeerStatus(new NodePublicKey(TestKeys.Key(2)), PresharedKey.None, IPEndPoint.Parse(endpoint), 0, null, 0, 0, []);

        Assert.Contains(expectedLine + "\n", Format(new DeviceStatus(null, 0, 0, [peer])), StringComparison.Ordinal);
    }

    [Fact]
    public void FormatGet_OutputParsesBackAsSet()
    {
        var peer = new PeerStatus(new NodePublicKey(TestKeys.Key(2)), new PresharedKey(TestKeys.Key(3)), IPEndPoint.Parse("[2001:db8::1]:9"), 5, null, 0, 0, [IPNetwork.Parse("10.9.0.0/16")]);
        var lines = Format(new DeviceStatus(new NodePrivateKey(TestKeys.Key(1)), 7, 0, [peer])).Split('\n')
            .Where(l => !l.StartsWith("last_handshake", StringComparison.Ordinal) && !l.EndsWith("_bytes=0", StringComparison.Ordinal) && !l.StartsWith("errno", StringComparison.Ordinal));

        Assert.True(UapiProtocol.TryParseSet(lines, out var update, out _));
        Assert.Equal(peer.Endpoint, update.Peers[0].Endpoint);
        Assert.Equal(peer.AllowedIps, update.Peers[0].AllowedIps);
    }
}
