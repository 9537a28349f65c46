using System.Collections.Concurrent;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Routing;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// A WireGuard device without I/O: peers, receiver indices, crypto-key routing and the dispatch of packets.
/// Flow: TUN packet → <see cref="EncryptOutbound"/> → datagram for the driver to send;
/// UDP datagram → <see cref="ProcessInbound"/> → plaintext for the driver to write to TUN, or a handshake message
/// onto <see cref="HandshakeQueue"/> → <see cref="TryProcessQueuedHandshake"/> on the driver's handshake worker →
/// answers through <see cref="IDatagramSender"/>; <see cref="Tick"/> runs the per-peer timers.
/// Partial files: Outbound, Inbound, Handshakes, Timers, Config.
/// </summary>
public sealed partial class WireGuardDevice
{
    /// <summary>Bytes a driver must leave before a plaintext packet for the transport header.</summary>
    public const int HeadRoom = MessageSize.TransportHeader;

    /// <summary>Bytes a driver must leave after a plaintext packet for padding (15) and the tag (16).</summary>
    public const int TailRoom = 32;

    private readonly IDatagramSender _sender;
    private readonly TimeProvider _wallClock;
    private readonly Random _jitter;
    private readonly IndexTable _indices = new();
    private readonly AllowedIps<Peer> _allowedIps = new();
    private readonly ConcurrentDictionary<NodePublicKey, Peer> _peersByKey = new();

    // Guards configuration changes, the peer order and identity swaps. Never taken on packet paths.
    private readonly Lock _configLock = new();
    private readonly List<Peer> _peerOrder = [];

    // Published for packet threads; replaced only under _configLock.
    private volatile LocalIdentity? _identity;
    private volatile CookieChecker? _cookieChecker;

    public WireGuardDevice(IDatagramSender sender, TimeProvider wallClock, Random? jitter = null)
    {
        _sender = sender;
        _wallClock = wallClock;
        _jitter = jitter ?? new Random();
    }

    public DeviceCounters Counters { get; } = new();

    /// <summary>The interface MTU; padding never grows a packet past it (as wireguard-go and the kernel do).</summary>
    public int Mtu { get; set; } = 1420;

    /// <summary>When set, decides each peer's endpoint after authenticated traffic instead of roaming (see <see cref="IEndpointMapper"/>).</summary>
    public IEndpointMapper? EndpointMapper { get; set; }

    public NodePublicKey? PublicKey => _identity?.PublicKey;

    public NodePrivateKey? PrivateKey => _identity?.PrivateKey;

    /// <summary>Peers in the order they were added.</summary>
    public IReadOnlyList<Peer> Peers
    {
        get
        {
            lock (_configLock)
            {
                return [.. _peerOrder];
            }
        }
    }

    public Peer? FindPeer(NodePublicKey key) => _peersByKey.TryGetValue(key, out var peer) ? peer : null;

    public IReadOnlyList<System.Net.IPNetwork> AllowedIpsOf(Peer peer) => _allowedIps.PrefixesOf(peer);

    /// <summary>Number of live receiver indices (pending handshakes and keypairs); for tests and metrics.</summary>
    internal int LiveIndexCount => _indices.Count;
}
