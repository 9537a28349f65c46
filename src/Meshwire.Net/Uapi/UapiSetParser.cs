using System.Diagnostics.CodeAnalysis;
using Meshwire.Core;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Uapi;

/// <summary>
/// Builds the <see cref="DeviceConfigUpdate"/> of one set request from its key=value lines, one line at a time.
/// States: device section → (first public_key) → peer section, every later key belonging to the latest peer →
/// (the first bad line) rejected: the update built so far is dropped, later lines are ignored, and
/// <see cref="TryComplete"/> answers the first line's errno. Completing is the caller's business: only the blank line
/// that ends the request may lead to it, so a request cut short never reaches the device.
/// </summary>
internal sealed class UapiSetParser
{
    private DeviceConfigUpdate? _update = new();
    private PeerConfigUpdate? _peer;
    private int _errno;

    /// <summary>Adds one line (without its newline); a bad line rejects the whole request.</summary>
    public void AddLine(ReadOnlySpan<char> line)
    {
        if (_update is null)
        {
            return;
        }

        var separator = line.IndexOf('=');
        if (separator < 0)
        {
            Reject(UapiErrors.Protocol);
            return;
        }

        var key = line[..separator];
        var value = line[(separator + 1)..];
        var ok = key is "public_key"
            ? TryStartPeer(value, _update, out _peer)
            : _peer is null ? TryApplyDeviceKey(key, value, _update) : TryApplyPeerKey(key, value, _peer);
        if (!ok)
        {
            Reject(UapiErrors.Invalid);
        }
    }

    /// <summary>Rejects the request with <paramref name="errno"/> unless a line has rejected it already.</summary>
    public void Reject(int errno)
    {
        if (_update is not null)
        {
            _update = null;
            _peer = null;
            _errno = errno;
        }
    }

    /// <summary>The update when every line was valid; otherwise false and the errno of the first bad line.</summary>
    public bool TryComplete([NotNullWhen(true)] out DeviceConfigUpdate? update, out int errno)
    {
        update = _update;
        errno = _errno;
        return update is not null;
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
                if (!UapiProtocol.TryParseDecimal(value, ushort.MaxValue, out var port))
                {
                    return false;
                }

                update.ListenPort = (ushort)port;
                return true;

            case "fwmark":
                if (!UapiProtocol.TryParseDecimal(value, uint.MaxValue, out var mark))
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
                if (!UapiProtocol.TryParseEndpoint(value, out var endpoint))
                {
                    return false;
                }

                peer.Endpoint = endpoint;
                return true;

            case "persistent_keepalive_interval":
                if (!UapiProtocol.TryParseDecimal(value, ushort.MaxValue, out var seconds))
                {
                    return false;
                }

                peer.PersistentKeepaliveInterval = (ushort)seconds;
                return true;

            case "allowed_ip":
                if (!UapiProtocol.TryParsePrefix(value, out var prefix))
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
}
