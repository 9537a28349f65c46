using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Meshwire.Core;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Uapi;

/// <summary>
/// The text of the cross-platform userspace API (https://www.wireguard.com/xplatform/, "Configuration Protocol").
/// A set request is parsed and validated whole into a <see cref="DeviceConfigUpdate"/>: any bad line rejects the
/// request and nothing is applied (stricter than wireguard-go, which applies lines as it reads them).
/// Device keys come first; the first public_key starts the peer section, and every later key belongs to the latest peer.
/// </summary>
public static partial class UapiProtocol
{
    /// <summary>The only protocol version of the configuration protocol so far.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>
    /// Reads one set request's body (what follows the "set=1" line) from <paramref name="reader"/> through the blank
    /// line that ends it, and no further, with the same reader, bounds and rule as a connection: input that ends before
    /// the blank line is refused with -71 (EPROTO) and gives no update, a line or request past
    /// <see cref="UapiLimits"/> with -90 (EMSGSIZE; the reader is then left in the middle of the request), a bad key
    /// or value with -22 or -71 once the whole request has been read.
    /// </summary>
    public static bool TryParseSet(TextReader reader, [NotNullWhen(true)] out DeviceConfigUpdate? update, out int errno)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var requests = new UapiRequestReader();
        requests.TryRead("set=1\n"u8);

        // One line at a time, so nothing past the blank line is taken from the reader. A char is at most 3 UTF-8
        // bytes (a lone surrogate becomes U+FFFD, which the ASCII-only reader refuses like any other non-ASCII).
        var line = new byte[UapiLimits.MaxLineBytes + 3];
        var length = 0;
        Span<char> one = stackalloc char[1];
        int c;
        while ((c = reader.Read()) >= 0)
        {
            one[0] = (char)c;
            length += Encoding.UTF8.GetBytes(one, line.AsSpan(length));
            if (c != '\n' && length <= UapiLimits.MaxLineBytes)
            {
                continue;
            }

            var result = requests.TryRead(line.AsSpan(0, length));
            length = 0;
            switch (result.Status)
            {
                case UapiReadStatus.NeedMoreData:
                    continue;
                case UapiReadStatus.Set:
                    update = result.Update!;
                    errno = 0;
                    return true;
                default:
                    update = null;
                    errno = result.Errno;
                    return false;
            }
        }

        update = null;
        errno = UapiErrors.Protocol;
        return false;
    }

    /// <summary>
    /// Parses the key=value lines of a set request (without the "set=1" line). Stops at the first blank line.
    /// Returns false with errno -22 (invalid key or value) or -71 (a line without '='), and then no update.
    /// A connection's bytes go through <see cref="UapiRequestReader"/>, which bounds lines and requests; this is for
    /// lines already in memory.
    /// </summary>
    public static bool TryParseSet(IEnumerable<string> lines, [NotNullWhen(true)] out DeviceConfigUpdate? update, out int errno)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var parser = new UapiSetParser();
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                break;
            }

            parser.AddLine(line);
        }

        return parser.TryComplete(out update, out errno);
    }

    /// <summary>Unsigned decimal digits only (no sign, no spaces), at most <paramref name="max"/>.</summary>
    internal static bool TryParseDecimal(ReadOnlySpan<char> text, ulong max, out ulong value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            if (value > (max - (ulong)(c - '0')) / 10)
            {
                return false;
            }

            value = (value * 10) + (ulong)(c - '0');
        }

        return true;
    }

    /// <summary>"a.b.c.d:port" or "[v6]:port"; a literal address only (the UAPI never carries hostnames).</summary>
    internal static bool TryParseEndpoint(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPEndPoint? endpoint)
    {
        endpoint = null;
        ReadOnlySpan<char> host;
        ReadOnlySpan<char> port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                return false;
            }

            host = text[1..close];
            port = text[(close + 2)..];
            if (!TryParseIPv6(host, out var v6) || !TryParseDecimal(port, ushort.MaxValue, out var p6))
            {
                return false;
            }

            endpoint = new IPEndPoint(v6, (int)p6);
            return true;
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return false;
        }

        host = text[..colon];
        port = text[(colon + 1)..];
        if (!TryParseIPv4(host, out var v4) || !TryParseDecimal(port, ushort.MaxValue, out var p4))
        {
            return false;
        }

        endpoint = new IPEndPoint(v4, (int)p4);
        return true;
    }

    /// <summary>"address/bits" with bits within the family's width; host bits are cleared, as the allowed-IPs table stores them.</summary>
    internal static bool TryParsePrefix(ReadOnlySpan<char> text, out IPNetwork prefix)
    {
        prefix = default;
        var slash = text.IndexOf('/');
        if (slash < 0)
        {
            return false;
        }

        IPAddress? address;
        var isV6 = text[..slash].Contains(':');
        if (!(isV6 ? TryParseIPv6(text[..slash], out address) : TryParseIPv4(text[..slash], out address)))
        {
            return false;
        }

        var width = isV6 ? 128 : 32;
        var bitsText = text[(slash + 1)..];
        if (!TryParseDecimal(bitsText, (ulong)width, out var bits) || (bitsText.Length > 1 && bitsText[0] == '0'))
        {
            return false;
        }

        if (isV6 && address.ScopeId != 0)
        {
            return false;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        bytes = bytes[..length];
        for (var i = 0; i < length; i++)
        {
            var keep = Math.Clamp((int)bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        prefix = new IPNetwork(new IPAddress(bytes), (int)bits);
        return true;
    }

    /// <summary>Strict dotted quad: four decimal parts 0..255 without leading zeros (IPAddress.TryParse also takes "1", "0x7f.1" and the like).</summary>
    private static bool TryParseIPv4(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> bytes = stackalloc byte[4];
        var part = 0;
        foreach (var range in text.Split('.'))
        {
            var piece = text[range];
            if (part == 4 || (piece.Length > 1 && piece[0] == '0') || !TryParseDecimal(piece, 255, out var value))
            {
                return false;
            }

            bytes[part++] = (byte)value;
        }

        if (part != 4)
        {
            return false;
        }

        address = new IPAddress(bytes);
        return true;
    }

    private static bool TryParseIPv6(ReadOnlySpan<char> text, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        // IPAddress.TryParse also takes "[::1]" and a trailing port; the brackets belong to the endpoint syntax only.
        if (!text.Contains(':') || text.ContainsAny("[]/") || !IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return false;
        }

        address = parsed;
        return true;
    }
}
