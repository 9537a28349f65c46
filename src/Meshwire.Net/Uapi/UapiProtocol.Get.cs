using System.Globalization;
using System.Net;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Uapi;

// The answer to "get=1": device keys, then each peer's keys in the order wireguard-go writes them
// (public_key, preshared_key, protocol_version, endpoint, last_handshake_time_sec/nsec, tx_bytes, rx_bytes,
// persistent_keepalive_interval, allowed_ip...), then errno=0 and the blank line that ends the response.
public static partial class UapiProtocol
{
    /// <summary>Writes the full response to a get request, including the closing "errno=0" and blank line.</summary>
    public static void FormatGet(DeviceStatus status, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(writer);
        if (status.PrivateKey is { IsZero: false } privateKey)
        {
            WriteLine(writer, "private_key", privateKey.Value.ToHex());
        }

        if (status.ListenPort != 0)
        {
            WriteLine(writer, "listen_port", status.ListenPort);
        }

        if (status.FirewallMark != 0)
        {
            WriteLine(writer, "fwmark", status.FirewallMark);
        }

        foreach (var peer in status.Peers)
        {
            FormatPeer(peer, writer);
        }

        WriteLine(writer, "errno", 0);
        writer.Write('\n');
    }

    /// <summary>Writes the response to a set request, or any failed request.</summary>
    public static void FormatErrno(int errno, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteLine(writer, "errno", errno);
        writer.Write('\n');
    }

    private static void FormatPeer(PeerStatus peer, TextWriter writer)
    {
        WriteLine(writer, "public_key", peer.PublicKey.Value.ToHex());
        if (!peer.PresharedKey.IsZero)
        {
            WriteLine(writer, "preshared_key", peer.PresharedKey.Value.ToHex());
        }

        WriteLine(writer, "protocol_version", ProtocolVersion);
        if (peer.Endpoint is { } endpoint)
        {
            WriteLine(writer, "endpoint", FormatEndpoint(endpoint));
        }

        // Seconds and nanoseconds since the Unix epoch; 0/0 means "never".
        long seconds = 0;
        long nanoseconds = 0;
        if (peer.LastHandshake is { } handshake)
        {
            var ticks = handshake.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
            seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var remainder);
            nanoseconds = remainder * TimeSpan.NanosecondsPerTick;
        }

        WriteLine(writer, "last_handshake_time_sec", seconds);
        WriteLine(writer, "last_handshake_time_nsec", nanoseconds);
        WriteLine(writer, "tx_bytes", peer.TxBytes);
        WriteLine(writer, "rx_bytes", peer.RxBytes);
        WriteLine(writer, "persistent_keepalive_interval", peer.PersistentKeepaliveInterval);
        foreach (var prefix in peer.AllowedIps)
        {
            WriteLine(writer, "allowed_ip", prefix.ToString());
        }
    }

    /// <summary>"a.b.c.d:port" (v4-mapped addresses unmapped) or "[v6]:port".</summary>
    private static string FormatEndpoint(IPEndPoint endpoint)
    {
        var address = endpoint.Address.IsIPv4MappedToIPv6 ? endpoint.Address.MapToIPv4() : endpoint.Address;
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{address}]:{endpoint.Port.ToString(CultureInfo.InvariantCulture)}"
            : $"{address}:{endpoint.Port.ToString(CultureInfo.InvariantCulture)}";
    }

    private static void WriteLine(TextWriter writer, string key, string value)
    {
        writer.Write(key);
        writer.Write('=');
        writer.Write(value);
        writer.Write('\n');
    }

    private static void WriteLine(TextWriter writer, string key, long value) =>
        WriteLine(writer, key, value.ToString(CultureInfo.InvariantCulture));
}
