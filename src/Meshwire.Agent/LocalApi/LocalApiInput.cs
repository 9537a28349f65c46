using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Meshwire.Agent.LocalApi;

/// <summary>Strict parsers for what clients send (addresses, durations, names, tags, URLs); false or an error text on anything odd.</summary>
public static class LocalApiInput
{
    public const int MaxTags = 32;

    /// <summary>
    /// "100.64.0.2", "100.64.0.2:80", "fd7a::2", "[fd7a::2]:80". Stricter than <see cref="IPAddress.TryParse(string, out IPAddress)"/>:
    /// IPv4 needs four decimal parts without leading zeros (no "1" meaning 0.0.0.1, no octal "010"), no scope ids, a port is 1 to 65535.
    /// </summary>
    public static bool TryParseAddress(string? text, out IPAddress address, out int? port)
    {
        address = IPAddress.None;
        port = null;
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return false;
        }

        string host;
        if (text[0] == '[')
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0 || !TryParsePort(text[(close + 2)..], out var p))
            {
                return false;
            }

            host = text[1..close];
            port = p;
            return TryParseIPv6(host, out address);
        }

        var colons = text.Count(c => c == ':');
        if (colons == 1)
        {
            var colon = text.IndexOf(':');
            if (!TryParsePort(text[(colon + 1)..], out var p))
            {
                return false;
            }

            port = p;
            return TryParseIPv4(text[..colon], out address);
        }

        return colons == 0 ? TryParseIPv4(text, out address) : TryParseIPv6(text, out address);
    }

    /// <summary>A bare address only (no port).</summary>
    public static bool TryParseIp(string? text, out IPAddress address) => TryParseAddress(text, out address, out var port) && port is null;

    /// <summary>"5" or "5s" (seconds), "500ms", "1.5s"; must be within (0, <paramref name="max"/>].</summary>
    public static bool TryParseDuration(string? text, TimeSpan max, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : (text, 1.0);
        // double.TryParse reads "NaN" and "Infinity" whatever the styles: !(value > 0) and IsFinite refuse them.
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || !(value > 0) || !double.IsFinite(value))
        {
            return false;
        }

        var seconds = value * scale;
        if (seconds > max.TotalSeconds)
        {
            return false;
        }

        // A positive number below one tick rounds to zero, which is not in (0, max].
        duration = TimeSpan.FromSeconds(seconds);
        return duration > TimeSpan.Zero;
    }

    /// <summary>
    /// Null when <paramref name="hostname"/> is usable (1 to 255 letters, digits, '-', '_' and '.', not starting with
    /// '-' or '.'; control turns it into a unique DNS label), else why not.
    /// </summary>
    public static string? CheckHostname(string hostname)
    {
        if (hostname.Length is 0 or > 255)
        {
            return "hostname must be 1 to 255 characters";
        }

        if (!hostname.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || hostname[0] is '-' or '.')
        {
            return $"hostname \"{hostname}\" may hold only letters, digits, '-', '_' and '.' (and not start with '-' or '.')";
        }

        return null;
    }

    /// <summary>Null when every tag is "tag:" and a name of lowercase letters, digits and hyphens, without repeats.</summary>
    public static string? CheckTags(IReadOnlyList<string> tags)
    {
        if (tags.Count > MaxTags)
        {
            return $"at most {MaxTags} tags";
        }

        foreach (var tag in tags)
        {
            var name = tag.StartsWith("tag:", StringComparison.Ordinal) ? tag[4..] : "";
            if (name.Length is 0 or > 63 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return $"tag \"{tag}\" must look like tag:name (lowercase letters, digits, hyphens)";
            }
        }

        return tags.Distinct(StringComparer.Ordinal).Count() == tags.Count ? null : "a tag is given twice";
    }

    /// <summary>An absolute http or https URL without credentials, query or fragment.</summary>
    public static bool TryParseLoginServer(string? text, out Uri server)
    {
        server = null!;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.Host.Length == 0)
        {
            return false;
        }

        server = uri;
        return true;
    }

    /// <summary>Null when the auth key is plausible (no spaces or control characters, at most 256 characters).</summary>
    public static string? CheckAuthKey(string key) =>
        key.Length is 0 or > 256 || key.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) ? "the auth key is empty, too long or has spaces" : null;

    private static bool TryParsePort(string text, out int port)
    {
        port = 0;
        return text.Length is > 0 and <= 5 && text.All(char.IsAsciiDigit) && int.TryParse(text, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;
    }

    private static bool TryParseIPv4(string text, out IPAddress address)
    {
        address = IPAddress.None;
        // No leading zeros: IPAddress.TryParse reads "020" as octal (16), so "020.64.0.2" would name 16.64.0.2.
        var parts = text.Split('.');
        if (parts.Length != 4 || parts.Any(p => p.Length is 0 or > 3 || !p.All(char.IsAsciiDigit) || (p.Length > 1 && p[0] == '0')))
        {
            return false;
        }

        return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetwork;
    }

    private static bool TryParseIPv6(string text, out IPAddress address)
    {
        address = IPAddress.None;
        if (text.Contains('%') || !text.All(c => char.IsAsciiHexDigit(c) || c is ':' or '.'))
        {
            return false;
        }

        return IPAddress.TryParse(text, out address!) && address.AddressFamily == AddressFamily.InterNetworkV6;
    }
}
