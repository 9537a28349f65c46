using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.IntegrationTests.Lab;

/// <summary>
/// A hostile sender of WireGuard handshake initiations for a key the target does not know, at a bounded rate for a
/// bounded time, from one UDP socket (one source address). The initiations are real ones, made by Meshwire's own
/// handshake code with a throwaway static key, so they pass MAC1 and cost the target its Diffie-Hellman work.
/// With <c>validCookies</c> the flooder does what a determined attacker does: it reads the target's cookie reply,
/// takes the cookie and floods initiations that also carry a valid MAC2 (taking every later cookie reply too, so
/// the MAC2 stays valid when the target rotates its secret). Sending a fixed message again and again is enough:
/// the target cannot know the initiator's key without the DH work, and WireGuard keeps no cache of initiations.
/// </summary>
internal sealed class HandshakeFlooder : IDisposable
{
    private readonly Socket _socket;
    private readonly IPEndPoint _target;
    private readonly Handshake _handshake;
    private readonly bool _validCookies;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly byte[] _initiation = new byte[MessageSize.Initiation];
    private uint _index = 0x5EED0000;

    public HandshakeFlooder(Socket socket, IPEndPoint target, NodePublicKey targetKey, bool validCookies)
    {
        _socket = socket;
        _target = target;
        _validCookies = validCookies;
        _socket.Blocking = false;
        _handshake = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), targetKey, PresharedKey.None);
        Renew();
    }

    /// <summary>Initiations sent.</summary>
    public long Sent { get; private set; }

    /// <summary>Cookie replies the target sent back.</summary>
    public long CookieReplies { get; private set; }

    /// <summary>Cookies taken from those replies (valid-cookie mode).</summary>
    public long CookiesTaken { get; private set; }

    /// <summary>True once the flooder holds a cookie, so every initiation it sends carries a valid MAC2.</summary>
    public bool HasCookie => CookiesTaken > 0;

    /// <summary>
    /// Sends at <paramref name="perSecond"/> for <paramref name="duration"/> (both bounded by the caller), reading
    /// cookie replies between bursts. Paced in 1 ms steps.
    /// </summary>
    public void Run(int perSecond, TimeSpan duration, CancellationToken cancel) => Flood(perSecond, duration, untilCookie: false, cancel);

    /// <summary>Floods for at most <paramref name="timeout"/>, until a cookie reply was taken (cookie mode); true when one was.</summary>
    public bool TryFetchCookie(TimeSpan timeout, int perSecond)
    {
        Flood(perSecond, timeout, untilCookie: true, CancellationToken.None);
        return HasCookie;
    }

    private void Flood(int perSecond, TimeSpan duration, bool untilCookie, CancellationToken cancel)
    {
        var start = _clock.Elapsed;
        var sentBefore = Sent;
        var reply = new byte[256];
        while (!cancel.IsCancellationRequested && !(untilCookie && HasCookie))
        {
            var elapsed = _clock.Elapsed - start;
            if (elapsed >= duration)
            {
                return;
            }

            var due = sentBefore + (long)(elapsed.TotalSeconds * perSecond);
            while (Sent < due)
            {
                try
                {
                    _socket.SendTo(_initiation, _target);
                }
                catch (SocketException)
                {
                    // A full send buffer (EAGAIN): the flood goes on with the next step.
                    break;
                }

                Sent++;
            }

            DrainReplies(reply);
            Thread.Sleep(1);
        }
    }

    private void DrainReplies(byte[] buffer)
    {
        while (_socket.Available > 0)
        {
            int n;
            try
            {
                n = _socket.Receive(buffer);
            }
            catch (SocketException)
            {
                return;
            }

            if (n != MessageSize.CookieReply || buffer[0] != MessageType.CookieReply)
            {
                continue;
            }

            CookieReplies++;
            if (_validCookies && _handshake.TryConsumeCookieReply(buffer.AsSpan(0, n), _clock.Elapsed))
            {
                CookiesTaken++;
                // The next message carries MAC2 under the new cookie; replies to the old one no longer decrypt.
                Renew();
            }
        }
    }

    private void Renew()
    {
        if (!_handshake.TryCreateInitiation(++_index, DateTimeOffset.UtcNow, _clock.Elapsed, _initiation))
        {
            throw new InvalidOperationException("cannot create a flood initiation");
        }
    }

    public void Dispose() => _socket.Dispose();
}
