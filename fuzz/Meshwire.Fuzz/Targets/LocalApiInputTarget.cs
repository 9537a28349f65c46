using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Agent.LocalApi;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// LocalAPI query parsing (src/Meshwire.Agent/LocalApi/LocalApiInput.cs): the input is one query value as a client
/// sends it (UTF-8), given to every parser. Contract: nothing throws; an accepted address is what its text says in
/// decimal (four decimal parts for IPv4, no octal or hex readings) and prints back to an equal parse; an accepted
/// duration lies in (0, max]; accepted hostnames, tags, auth keys and login servers obey the rules their
/// summaries state.
/// </summary>
public static class LocalApiInputTarget
{
    public static readonly FuzzTarget Target = new("localapi-input", "LocalAPI query values: addresses, durations, hostnames, tags, URLs", Run, Seeds);

    private static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        CheckAddress(text);

        if (LocalApiInput.TryParseDuration(text, MaxDuration, out var duration))
        {
            Check(duration > TimeSpan.Zero && duration <= MaxDuration, $"duration \"{text}\" parsed to {duration}, outside (0, {MaxDuration}]");
        }

        if (LocalApiInput.CheckHostname(text) is null)
        {
            Check(text.Length is > 0 and <= 255 && text[0] is not ('-' or '.') && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'),
                $"hostname \"{text}\" accepted");
        }

        var tags = text.Split(',');
        if (LocalApiInput.CheckTags(tags) is null)
        {
            Check(tags.Length <= LocalApiInput.MaxTags && tags.Distinct(StringComparer.Ordinal).Count() == tags.Length, "too many or repeated tags accepted");
            foreach (var tag in tags)
            {
                Check(tag.StartsWith("tag:", StringComparison.Ordinal) && tag.Length is > 4 and <= 67
                    && tag[4..].All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'), $"tag \"{tag}\" accepted");
            }
        }

        // Only the stated rules: System.Uri's printed form of a host with non-ASCII characters does not always parse
        // back to an equal Uri (fuzz/regressions/localapi-input/login-server-non-ascii-host), which is Uri's affair.
        if (LocalApiInput.TryParseLoginServer(text, out var server))
        {
            Check(server.Scheme is "http" or "https" && server.UserInfo.Length == 0 && server.Query.Length == 0 && server.Fragment.Length == 0 && server.Host.Length > 0,
                $"login server \"{text}\" accepted");
        }

        if (LocalApiInput.CheckAuthKey(text) is null)
        {
            Check(text.Length is > 0 and <= 256 && !text.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)), "auth key with spaces or control characters accepted");
        }
    }

    private static void CheckAddress(string text)
    {
        var ok = LocalApiInput.TryParseAddress(text, out var address, out var port);
        Check(LocalApiInput.TryParseIp(text, out var bare) == (ok && port is null), "TryParseIp disagrees with TryParseAddress");
        if (!ok)
        {
            return;
        }

        Check(port is null or (> 0 and <= 65535), $"port {port} accepted");
        Check(address.AddressFamily == AddressFamily.InterNetwork || address.ScopeId == 0, "a scoped IPv6 address accepted");
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var host = port is null ? text : text[..text.LastIndexOf(':')];
            var parts = host.Split('.');
            Check(parts.Length == 4, $"IPv4 \"{text}\" accepted without four parts");
            var bytes = address.GetAddressBytes();
            for (var i = 0; i < 4; i++)
            {
                Check(int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value == bytes[i],
                    $"IPv4 \"{text}\" read as {address}: part {i} is not the decimal number written");
            }
        }
        else
        {
            Check(address.AddressFamily == AddressFamily.InterNetworkV6, "neither IPv4 nor IPv6");
        }

        var printed = port is { } p
            ? address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]:{p}" : $"{address}:{p}"
            : address.ToString();
        Check(LocalApiInput.TryParseAddress(printed, out var again, out var againPort) && again.Equals(address) && againPort == port,
            $"\"{text}\" → {printed} does not parse back to the same address");
        _ = bare;
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        string[] values =
        [
            "100.64.0.2", "100.64.0.2:80", "fd7a:115c:a1e0::2", "[fd7a:115c:a1e0::2]:443", "::ffff:100.64.0.1",
            "5", "1.5s", "500ms", "laptop-1.example", "tag:web,tag:db", "https://control.example:8443/", "mwauth-0123456789abcdef",
        ];
        for (var i = 0; i < values.Length; i++)
        {
            yield return ($"value-{i:00}", Encoding.UTF8.GetBytes(values[i]));
        }
    }
}
