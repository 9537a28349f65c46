using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
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
    /// Reads the lines of one set request from <paramref name="reader"/> up to the blank line that ends it (or the end
    /// of input), then parses them. The whole request is consumed even when it is invalid, so a connection stays in step.
    /// </summary>
    public static bool TryParseSet(TextReader reader, [NotNullWhen(true)] out DeviceConfigUpdate? update, out int errno)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return TryParseSet(ReadRequestBody(reader), out update, out errno);
    }

    /// <summary>
    /// Parses the key=value lines of a set request (without the "set=1" line). Stops at the first blank line.
    /// Returns false with errno -22 (invalid key or value) or -71 (a line without '='), and then no update.
    /// </summary>
    public static bool TryParseSet(IEnumerable<string> lines, [NotNullWhen(true)] out DeviceConfigUpdate? update, out int errno)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var result = new DeviceConfigUpdate();
        PeerConfigUpdate? peer = null;
        update = null;
        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                break;
            }

            var separator = line.IndexOf('=', StringComparison.Ordinal);
            if (separator < 0)
            {
                errno = UapiErrors.Protocol;
                return false;
            }

            var key = line.AsSpan(0, separator);
            var value = line.AsSpan(separator + 1);
            var ok = key is "public_key"
                ? TryStartPeer(value, result, out peer)
                : peer is null ? TryApplyDeviceKey(key, value, result) : TryApplyPeerKey(key, value, peer);
            if (!ok)
            {
                errno = UapiErrors.Invalid;
                return false;
            }
        }

        update = result;
        errno = 0;
        return true;
    }

    /// <summary>Collects the lines up to (not including) the blank line that ends a request, or to the end of input.</summary>
    internal static List<string> ReadRequestBody(TextReader reader)
    {
        var lines = new List<string>();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    private static bool TryStartPeer(ReadOnlySpan<char> value, DeviceConfigUpdate update, out PeerConfigUpdate? peer)
    {
        peer = null;
        if (!Key32.TryParseHex(value, out var key))
        {
            return false;
        }

        peer = new PeerConfigUpdate(new NodePublicKey(key));
        update.Peers.Add(peer);
        return true;
    }

    private static bool TryApplyDeviceKey(ReadOnlySpan<char> key, ReadOnlySpan<char> value, DeviceConfigUpdate update)
    {
        switch (key)
        {
            case "private_key":
                if (!Key32.TryParseHex(value, out var privateKey))
                {
                    return false;
                }

                update.PrivateKey = new NodePrivateKey(privateKey);
                return true;

            case "listen_port":
                if (!TryParseDecimal(value, ushort.MaxValue, out var port))
                {
                    return false;
                }

                update.ListenPort = (ushort)port;
                return true;

            case "fwmark":
                if (!TryParseDecimal(value, uint.MaxValue, out var mark))
                {
                    return false;
                }

                update.FirewallMark = (uint)mark;
                return true;

            case "replace_peers":
                update.ReplacePeers = true;
                return value is "true";

            default:
                return false;
        }
    }

    private static bool TryApplyPeerKey(ReadOnlySpan<char> key, ReadOnlySpan<char> value, PeerConfigUpdate peer)
    {
        switch (key)
        {
            case "remove":
                peer.Remove = true;
                return value is "true";

            case "update_only":
                peer.UpdateOnly = true;
                return value is "true";

            case "replace_allowed_ips":
                peer.ReplaceAllowedIps = true;
                return value is "true";

            case "preshared_key":
                if (!Key32.TryParseHex(value, out var psk))
                {
                    return false;
                }

                peer.PresharedKey = new PresharedKey(psk);
                return true;

            case "endpoint":
                if (!TryParseEndpoint(value, out var endpoint))
                {
                    return false;
                }

                peer.Endpoint = endpoint;
                return true;

            case "persistent_keepalive_interval":
                if (!TryParseDecimal(value, ushort.MaxValue, out var seconds))
                {
                    return false;
                }

                peer.PersistentKeepaliveInterval = (ushort)seconds;
                return true;

            case "allowed_ip":
                if (!TryParsePrefix(value, out var prefix))
                {
                    return false;
                }

                peer.AllowedIps.Add(prefix);
                return true;

            case "protocol_version":
                return value is "1";

            default:
                return false;
        }
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
