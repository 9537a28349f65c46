using Meshwire.WireGuard.Timers;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

public sealed partial class WireGuardDevice
{
    /// <summary>Runs every peer's timers (whitepaper 6). The driver calls it at least every <see cref="TickInterval"/>.</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(100);

    public void Tick(TimeSpan now)
    {
        foreach (var peer in _peersByKey.Values)
        {
            lock (peer.Lock)
            {
                var actions = peer.Timers.Poll(now);
                if (actions == TimerActions.None)
                {
                    continue;
                }

                if ((actions & TimerActions.ZeroKeys) != 0)
                {
                    ClearKeysLocked(peer);
                }

                if ((actions & TimerActions.GiveUpHandshake) != 0)
                {
                    var staged = peer.Staged.Count;
                    peer.DropStaged();
                    for (var i = 0; i < staged; i++)
                    {
                        Counters.Drop(DropReason.HandshakeGaveUp);
                    }
                }

                if ((actions & TimerActions.SendHandshakeInitiation) != 0)
                {
                    InitiateHandshakeLocked(peer, now);
                }

                if ((actions & (TimerActions.SendKeepalive | TimerActions.SendPersistentKeepalive)) != 0)
                {
                    SendKeepaliveLocked(peer, now);
                }
            }
        }
    }

    /// <summary>Forgets every session of a peer (expiry or removal). Caller holds peer.Lock.</summary>
    private void ClearKeysLocked(Peer peer)
    {
        var dropped = new List<Keypair>(3);
        peer.Keypairs.Clear(dropped);
        FreeIndices(dropped);
        peer.PublishSendKeypair();
        _indices.Free(peer.Handshake.PendingLocalIndex);
        peer.Handshake.Clear();
    }
}
