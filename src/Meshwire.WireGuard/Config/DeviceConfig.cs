using System.Net;
using Meshwire.Core;

namespace Meshwire.WireGuard.Config;

// The configuration vocabulary of the cross-platform userspace API (https://www.wireguard.com/xplatform/).
// A "set" request is parsed and validated whole into a DeviceConfigUpdate before anything is applied,
// so a bad key or value changes nothing. A "get" request is answered from a DeviceStatus snapshot.

/// <summary>A validated change to a device. Null means "leave unchanged".</summary>
public sealed class DeviceConfigUpdate
{
    /// <summary>New private key; an all-zero key removes it.</summary>
    public NodePrivateKey? PrivateKey { get; set; }

    /// <summary>New UDP listen port; 0 picks a random port.</summary>
    public ushort? ListenPort { get; set; }

    /// <summary>New fwmark; 0 removes it.</summary>
    public uint? FirewallMark { get; set; }

    /// <summary>Remove every peer before applying <see cref="Peers"/>.</summary>
    public bool ReplacePeers { get; set; }

    public List<PeerConfigUpdate> Peers { get; } = [];
}

/// <summary>A validated change to one peer, in the order the request named it.</summary>
public sealed class PeerConfigUpdate
{
    public PeerConfigUpdate(NodePublicKey publicKey) => PublicKey = publicKey;

    public NodePublicKey PublicKey { get; }

    /// <summary>Remove this peer; no other field applies.</summary>
    public bool Remove { get; set; }

    /// <summary>Only change the peer if it exists already; never create it.</summary>
    public bool UpdateOnly { get; set; }

    /// <summary>New preshared key; all zero removes it.</summary>
    public PresharedKey? PresharedKey { get; set; }

    public IPEndPoint? Endpoint { get; set; }

    /// <summary>Seconds between keepalives; 0 disables them.</summary>
    public ushort? PersistentKeepaliveInterval { get; set; }

    /// <summary>Drop the peer's allowed IPs before adding <see cref="AllowedIps"/>.</summary>
    public bool ReplaceAllowedIps { get; set; }

    public List<IPNetwork> AllowedIps { get; } = [];
}

/// <summary>A point-in-time view of a device for "get" and "wg show".</summary>
public sealed record DeviceStatus(
    NodePrivateKey? PrivateKey,
    ushort ListenPort,
    uint FirewallMark,
    IReadOnlyList<PeerStatus> Peers);

/// <summary>A point-in-time view of one peer.</summary>
public sealed record PeerStatus(
    NodePublicKey PublicKey,
    PresharedKey PresharedKey,
    IPEndPoint? Endpoint,
    ushort PersistentKeepaliveInterval,
    DateTimeOffset? LastHandshake,
    long RxBytes,
    long TxBytes,
    IReadOnlyList<IPNetwork> AllowedIps);

/// <summary>What the UAPI server drives: a device that reports its state and applies validated changes.</summary>
public interface IConfigurableDevice
{
    DeviceStatus GetStatus();

    /// <summary>Applies a validated update atomically; returns 0 or a negative errno (e.g. -EADDRINUSE when the port is taken).</summary>
    int Apply(DeviceConfigUpdate update);
}
