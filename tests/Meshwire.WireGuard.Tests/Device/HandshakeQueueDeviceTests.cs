using System.Net;
using Meshwire.Core;
using Meshwire.Testing;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>
/// A device with a handshake queue, as the engine runs it: handshake messages wait for a worker, the queue's depth
/// decides "under load", and under load a source with a valid cookie still passes only its token bucket.
/// The flooder sends real initiations for a key the device does not know, from one source.
/// </summary>
public sealed class HandshakeQueueDeviceTests
{
    private static readonly EndpointAddress PeerSource = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("192.0.2.1:51820"));
    private static readonly EndpointAddress FloodSource = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("198.51.100.66:4444"));

    private readonly UptimeClock _clock = new();
    private readonly Sent _sent = new();
    private readonly NodePrivateKey _deviceKey = X25519Keys.GeneratePrivateKey();
    private readonly LocalIdentity _peerIdentity = new(X25519Keys.GeneratePrivateKey());
    private readonly WireGuardDevice _device;

    public HandshakeQueueDeviceTests()
    {
        _device = new WireGuardDevice(_sent, _clock) { HandshakeQueue = new HandshakeQueue(capacity: 64) };
        var update = new DeviceConfigUpdate { PrivateKey = _deviceKey };
        var peer = new PeerConfigUpdate(_peerIdentity.PublicKey);
        peer.AllowedIps.Add(IPNetwork.Parse("10.0.0.1/32"));
        update.Peers.Add(peer);
        _device.ApplyConfig(update, Now);
    }

    private TimeSpan Now => _clock.Uptime;

    private NodePublicKey DeviceKey => X25519Keys.PublicKeyOf(_deviceKey);

    [Fact]
    public void ProcessInbound_Initiation_IsQueuedAndAnsweredOnlyByTheWorker()
    {
        var peer = new Handshake(_peerIdentity, DeviceKey, PresharedKey.None);

        Assert.Equal(InboundAction.HandshakeQueued, _device.ProcessInbound(Initiation(peer), PeerSource, Now).Action);
        Assert.Empty(_sent.Messages);

        Assert.True(_device.TryProcessQueuedHandshake(Now));
        Assert.Equal([MessageType.Response], _sent.Types);
        Assert.False(_device.TryProcessQueuedHandshake(Now));
    }

    [Fact]
    public void ProcessInbound_QueueFull_DropsAndCountsTheReason()
    {
        var flooder = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), DeviceKey, PresharedKey.None);
        var initiation = Initiation(flooder);
        for (var i = 0; i < 64; i++)
        {
            Assert.Equal(InboundAction.HandshakeQueued, _device.ProcessInbound(initiation.ToArray(), FloodSource, Now).Action);
        }

        Assert.Equal(InboundAction.Dropped, _device.ProcessInbound(initiation.ToArray(), FloodSource, Now).Action);
        Assert.Equal(1, _device.Counters.Dropped(DropReason.HandshakeQueueFull));
    }

    [Fact]
    public void Flood_QueueAtAnEighth_AnswersWithCookieRepliesInsteadOfDiffieHellman()
    {
        var flooder = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), DeviceKey, PresharedKey.None);
        Enqueue(Initiation(flooder), FloodSource, count: 8);

        ProcessAll();

        // The first message found the queue at the under-load depth; the rest came within the following second.
        Assert.Equal(8, _sent.Types.Count(t => t == MessageType.CookieReply));
        Assert.Equal(8, _device.Counters.Dropped(DropReason.CookieRequired));
        Assert.Equal(0, _device.Counters.Dropped(DropReason.UnknownPeer));
    }

    [Fact]
    public void Flood_QueueShallow_IsNotUnderLoad()
    {
        var flooder = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), DeviceKey, PresharedKey.None);
        Enqueue(Initiation(flooder), FloodSource, count: 7);

        ProcessAll();

        Assert.Empty(_sent.Messages);
        Assert.Equal(7, _device.Counters.Dropped(DropReason.UnknownPeer));
    }

    [Fact]
    public void Flood_WithValidCookie_PassesOnlyTheTokenBucketOfItsSource()
    {
        var flooder = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), DeviceKey, PresharedKey.None);
        TakeCookie(flooder, FloodSource);
        var withMac2 = Initiation(flooder);
        Assert.True(new CookieChecker(new LocalIdentity(_deviceKey)).CheckMac1(withMac2));

        Enqueue(withMac2, FloodSource, count: 40);
        ProcessAll();

        Assert.Equal(HandshakeRateLimiter.PacketsBurstable, _device.Counters.Dropped(DropReason.UnknownPeer));
        Assert.Equal(40 - HandshakeRateLimiter.PacketsBurstable, _device.Counters.Dropped(DropReason.RateLimited));
    }

    [Fact]
    public void Flood_LegitimatePeerFromAnotherSource_CompletesItsHandshakeWithACookie()
    {
        var flooder = new Handshake(new LocalIdentity(X25519Keys.GeneratePrivateKey()), DeviceKey, PresharedKey.None);
        TakeCookie(flooder, FloodSource);
        Enqueue(Initiation(flooder), FloodSource, count: 40);
        ProcessAll();
        _sent.Messages.Clear();

        // Still under load: the peer's first initiation is answered with a cookie, its retry with a response.
        var peer = new Handshake(_peerIdentity, DeviceKey, PresharedKey.None);
        _device.ProcessInbound(Initiation(peer), PeerSource, Now);
        _device.TryProcessQueuedHandshake(Now);
        var reply = Assert.Single(_sent.Messages);
        Assert.True(peer.TryConsumeCookieReply(reply, Now));
        _sent.Messages.Clear();
        _clock.Advance(TimeSpan.FromMilliseconds(50));
        _device.ProcessInbound(Initiation(peer), PeerSource, Now);
        _device.TryProcessQueuedHandshake(Now);

        Assert.Equal([MessageType.Response], _sent.Types);
    }

    /// <summary>Floods until the device is under load and answers with a cookie reply, and takes the cookie.</summary>
    private void TakeCookie(Handshake flooder, EndpointAddress source)
    {
        Enqueue(Initiation(flooder), source, count: 8);
        ProcessAll();
        Assert.True(flooder.TryConsumeCookieReply(_sent.Messages[^1], Now));
        _sent.Messages.Clear();
    }

    private void Enqueue(byte[] message, EndpointAddress source, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(InboundAction.HandshakeQueued, _device.ProcessInbound(message.ToArray(), source, Now).Action);
        }
    }

    private void ProcessAll()
    {
        while (_device.TryProcessQueuedHandshake(Now))
        {
        }
    }

    private byte[] Initiation(Handshake from)
    {
        var message = new byte[MessageSize.Initiation];
        Assert.True(from.TryCreateInitiation((uint)Random.Shared.Next(1, int.MaxValue), _clock.GetUtcNow(), Now, message));
        return message;
    }

    private sealed class Sent : IDatagramSender
    {
        public List<byte[]> Messages { get; } = [];

        public IEnumerable<byte> Types => Messages.Select(m => m[0]);

        public void Send(ReadOnlySpan<byte> datagram, EndpointAddress destination) => Messages.Add(datagram.ToArray());
    }
}
