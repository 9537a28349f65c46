using Meshwire.Core;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Device;

public sealed partial class WireGuardDevice
{
    // Stands in for the local identity of peers configured before a private key is set; no handshake runs with it
    // because every handshake path checks _identity first.
    private static readonly Lazy<LocalIdentity> NoIdentity = new(() => new LocalIdentity(X25519Keys.GeneratePrivateKey()));

    /// <summary>
    /// Applies the key and peer parts of a validated update (listen port and fwmark belong to the UDP driver).
    /// Order follows the UAPI: private key, replace_peers, then each peer in request order.
    /// </summary>
    public void ApplyConfig(DeviceConfigUpdate update, TimeSpan now)
    {
        lock (_configLock)
        {
            if (update.PrivateKey is { } privateKey)
            {
                SetPrivateKeyLocked(privateKey);
            }

            if (update.ReplacePeers)
            {
                foreach (var peer in _peerOrder.ToArray())
                {
                    RemovePeerLocked(peer);
                }
            }

            foreach (var change in update.Peers)
            {
                ApplyPeerLocked(change, now);
            }
        }
    }

    public IReadOnlyList<PeerStatus> GetPeerStatuses()
    {
        lock (_configLock)
        {
            var result = new List<PeerStatus>(_peerOrder.Count);
            foreach (var peer in _peerOrder)
            {
                DateTimeOffset? lastHandshake;
                lock (peer.Lock)
                {
                    lastHandshake = peer.LastHandshake;
                }

                var endpoint = peer.Endpoint;
                result.Add(new PeerStatus(
                    peer.PublicKey,
                    peer.PresharedKey,
                    endpoint.IsEmpty ? null : endpoint.ToIPEndPoint(),
                    (ushort)peer.PersistentKeepaliveInterval.TotalSeconds,
                    lastHandshake,
                    peer.RxBytes,
                    peer.TxBytes,
                    _allowedIps.PrefixesOf(peer)));
            }

            return result;
        }
    }

    private void SetPrivateKeyLocked(NodePrivateKey privateKey)
    {
        var identity = privateKey.IsZero ? null : new LocalIdentity(privateKey);
        if (identity is not null && _identity is { } current && current.PublicKey == identity.PublicKey)
        {
            return;
        }

        _identity = identity;
        _cookieChecker = identity is null ? null : new CookieChecker(identity);

        foreach (var peer in _peerOrder.ToArray())
        {
            // A peer with our own public key would be ourselves (wireguard-go removes it too).
            if (identity is not null && peer.PublicKey == identity.PublicKey)
            {
                RemovePeerLocked(peer);
                continue;
            }

            lock (peer.Lock)
            {
                ClearKeysLocked(peer);
                peer.Handshake = new Handshake(identity ?? NoIdentity.Value, peer.PublicKey, peer.PresharedKey);
            }
        }
    }

    private void ApplyPeerLocked(PeerConfigUpdate change, TimeSpan now)
    {
        _peersByKey.TryGetValue(change.PublicKey, out var peer);
        if (change.Remove)
        {
            if (peer is not null)
            {
                RemovePeerLocked(peer);
            }

            return;
        }

        if (peer is null)
        {
            if (change.UpdateOnly || (_identity is { } self && self.PublicKey == change.PublicKey))
            {
                return;
            }

            peer = new Peer(_identity ?? NoIdentity.Value, change.PublicKey, change.PresharedKey ?? PresharedKey.None, _jitter);
            _peersByKey[change.PublicKey] = peer;
            _peerOrder.Add(peer);
        }

        var sendKeepaliveNow = false;
        lock (peer.Lock)
        {
            if (change.PresharedKey is { } psk)
            {
                peer.Handshake.PresharedKey = psk;
            }

            if (change.Endpoint is { } endpoint)
            {
                peer.SetEndpoint(EndpointAddress.FromIPEndPoint(endpoint));
            }

            if (change.PersistentKeepaliveInterval is { } seconds)
            {
                var wasOff = peer.PersistentKeepaliveInterval == TimeSpan.Zero;
                peer.PersistentKeepaliveInterval = TimeSpan.FromSeconds(seconds);

                // Turning persistent keepalive on sends one at once, so a peer behind NAT becomes reachable.
                sendKeepaliveNow = wasOff && seconds > 0 && _identity is not null;
            }
        }

        if (change.ReplaceAllowedIps)
        {
            _allowedIps.RemoveAll(peer);
        }

        foreach (var prefix in change.AllowedIps)
        {
            _allowedIps.Insert(prefix, peer);
        }

        if (sendKeepaliveNow)
        {
            lock (peer.Lock)
            {
                SendKeepaliveLocked(peer, now);
            }
        }
    }

    private void RemovePeerLocked(Peer peer)
    {
        lock (peer.Lock)
        {
            peer.Removed = true;
            ClearKeysLocked(peer);
            peer.DropStaged();
        }

        _allowedIps.RemoveAll(peer);
        _peersByKey.TryRemove(peer.PublicKey, out _);
        _peerOrder.Remove(peer);
    }
}
