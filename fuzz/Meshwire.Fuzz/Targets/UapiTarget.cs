using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Net.Uapi;
using Meshwire.WireGuard.Config;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// UAPI set requests (src/Meshwire.Net/Uapi): the input is what a client writes after "set=1\n" on the
/// configuration socket (UTF-8). Contract: TryParseSet never throws; a refusal carries a negative errno and no
/// update; an accepted update printed back as a set request parses to an equal update, and prints the same again.
/// </summary>
public static class UapiTarget
{
    public static readonly FuzzTarget Target = new("uapi", "UAPI set request (key=value lines up to the blank line)", Run, Seeds);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        var ok = UapiProtocol.TryParseSet(new StringReader(text), out var update, out var errno);
        if (!ok)
        {
            Check(update is null && errno < 0, $"a refused request gave errno {errno} and {(update is null ? "no" : "an")} update");
            return;
        }

        Check(update is not null && errno == 0, "an accepted request without an update or with an errno");
        var printed = Format(update!);
        Check(UapiProtocol.TryParseSet(new StringReader(printed), out var again, out var againErrno), $"the printed update is refused (errno {againErrno}):\n{printed}");
        var reprinted = Format(again!);
        Check(reprinted == printed, $"the update does not survive printing and parsing:\n{printed}\n---\n{reprinted}");
    }

    /// <summary>An update as the set request that makes it (every field the parser knows, in the protocol's order).</summary>
    internal static string Format(DeviceConfigUpdate update)
    {
        var text = new StringBuilder();
        void Line(string key, string value) => text.Append(key).Append('=').Append(value).Append('\n');
        if (update.PrivateKey is { } privateKey)
        {
            Line("private_key", privateKey.Value.ToHex());
        }

        if (update.ListenPort is { } port)
        {
            Line("listen_port", port.ToString(CultureInfo.InvariantCulture));
        }

        if (update.FirewallMark is { } mark)
        {
            Line("fwmark", mark.ToString(CultureInfo.InvariantCulture));
        }

        if (update.ReplacePeers)
        {
            Line("replace_peers", "true");
        }

        foreach (var peer in update.Peers)
        {
            Line("public_key", peer.PublicKey.Value.ToHex());
            if (peer.Remove)
            {
                Line("remove", "true");
            }

            if (peer.UpdateOnly)
            {
                Line("update_only", "true");
            }

            if (peer.PresharedKey is { } psk)
            {
                Line("preshared_key", psk.Value.ToHex());
            }

            if (peer.Endpoint is { } endpoint)
            {
                var address = endpoint.Address.ToString();
                Line("endpoint", endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{endpoint.Port}" : $"{address}:{endpoint.Port}");
            }

            if (peer.PersistentKeepaliveInterval is { } keepalive)
            {
                Line("persistent_keepalive_interval", keepalive.ToString(CultureInfo.InvariantCulture));
            }

            if (peer.ReplaceAllowedIps)
            {
                Line("replace_allowed_ips", "true");
            }

            foreach (var prefix in peer.AllowedIps)
            {
                Line("allowed_ip", prefix.ToString());
            }
        }

        return text.Append('\n').ToString();
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        string[] requests =
        [
            // The example of the cross-platform configuration protocol's documentation.
            "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\nfwmark=0\nlisten_port=12912\nreplace_peers=true\n"
            + "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\npreshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"
            + "replace_allowed_ips=true\nallowed_ip=192.168.4.4/32\nendpoint=[abcd:23::33%2]:51820\n"
            + "public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\nreplace_allowed_ips=true\nallowed_ip=192.168.4.6/32\n"
            + "persistent_keepalive_interval=111\nendpoint=182.122.22.19:3233\n"
            + "public_key=662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58\nendpoint=5.152.198.39:51820\nreplace_allowed_ips=true\n"
            + "allowed_ip=192.168.4.10/32\nallowed_ip=192.168.4.11/32\n"
            + "public_key=e818b58db5274087fcc1be5dc728cf53d3b5726b4cef6b9bab8f8f8c2452c25c\nremove=true\n\n",
            "listen_port=51820\n\n",
            "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\nupdate_only=true\nallowed_ip=fd7a:115c:a1e0::/48\nallowed_ip=0.0.0.0/0\nprotocol_version=1\n\n",
            "listen_port=65536\n\n",
            "no separator\n\n",
        ];
        for (var i = 0; i < requests.Length; i++)
        {
            yield return ($"set-{i}", Encoding.UTF8.GetBytes(requests[i]));
        }
    }
}
