using System.Buffers.Binary;
using System.Net;
using Meshwire.Core;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Device;
using Meshwire.Testing;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Device;

/// <summary>
/// Two devices wired back to back in memory with one fake clock: A (10.0.0.1, endpoint 192.0.2.1:1) and
/// B (10.0.0.2, endpoint 192.0.2.2:2). Datagrams wait in each side's outbox until <see cref="Pump"/> delivers them.
/// The clock is a Linux host's (<see cref="UptimeClock"/>, weeks of uptime unless told), and the devices' "now" comes
/// from it the way a driver computes it: the host's monotonic time through MonotonicClock, or, with
/// <c>engineOrigin</c>, the time since the lab started as WireGuardEngine computes it (GetElapsedTime from a start
/// timestamp), which begins near zero whatever the uptime.
/// </summary>
internal sealed class BackToBack
{
    public static readonly EndpointAddress EndpointA = EndpointAddress.FromBytes([192, 0, 2, 1], 1);
    public static readonly EndpointAddress EndpointB = EndpointAddress.FromBytes([192, 0, 2, 2], 2);

    private readonly long? _engineStart;

    public BackToBack(bool configureEndpointOnB = true, TimeSpan? uptime = null, bool engineOrigin = false)
    {
        Clock = new UptimeClock(uptime, new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
        _engineStart = engineOrigin ? Clock.GetTimestamp() : null;
        OutboxA = new Outbox();
        OutboxB = new Outbox();
        A = new WireGuardDevice(OutboxA, Clock, new Random(1));
        B = new WireGuardDevice(OutboxB, Clock, new Random(2));
        KeyA = X25519Keys.GeneratePrivateKey();
        KeyB = X25519Keys.GeneratePrivateKey();
        A.ApplyConfig(Config(KeyA, X25519Keys.PublicKeyOf(KeyB), EndpointB, "10.0.0.2/32"), Now);
        B.ApplyConfig(Config(KeyB, X25519Keys.PublicKeyOf(KeyA), configureEndpointOnB ? EndpointA : null, "10.0.0.1/32"), Now);
    }

    /// <summary>The host's clock: monotonic time for the devices' "now", wall time for handshake timestamps.</summary>
    public UptimeClock Clock { get; }

    /// <summary>The clock the devices read the wall time from (the same <see cref="Clock"/>).</summary>
    public UptimeClock Wall => Clock;

    /// <summary>The "now" the devices are given, computed from <see cref="Clock"/> as the driver would.</summary>
    public TimeSpan Now => _engineStart is { } start ? Clock.GetElapsedTime(start) : MonotonicClock.Now(Clock);

    public WireGuardDevice A { get; }

    public WireGuardDevice B { get; }

    public NodePrivateKey KeyA { get; }

    public NodePrivateKey KeyB { get; }

    public Outbox OutboxA { get; }

    public Outbox OutboxB { get; }

    public List<byte[]> TunA { get; } = [];

    public List<byte[]> TunB { get; } = [];

    public void Advance(TimeSpan by) => Clock.Advance(by);

    /// <summary>Advances in timer ticks, running both devices' timers; with <paramref name="deliver"/>, pumps after each tick.</summary>
    public void TickFor(TimeSpan duration, bool deliver = false)
    {
        // Counted on the clock, not on Now: a driver conversion that wraps must fail the test, not hang it.
        for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += WireGuardDevice.TickInterval)
        {
            Advance(WireGuardDevice.TickInterval);
            A.Tick(Now);
            B.Tick(Now);
            if (deliver)
            {
                Pump();
            }
        }
    }

    /// <summary>Delivers queued datagrams both ways until both outboxes are empty.</summary>
    public void Pump(int maxRounds = 20)
    {
        for (var round = 0; round < maxRounds && (OutboxA.Count > 0 || OutboxB.Count > 0); round++)
        {
            foreach (var datagram in OutboxA.Drain())
            {
                Deliver(B, datagram, EndpointA, TunB);
            }

            foreach (var datagram in OutboxB.Drain())
            {
                Deliver(A, datagram, EndpointB, TunA);
            }
        }
    }

    public InboundResult Deliver(WireGuardDevice to, byte[] datagram, EndpointAddress from, List<byte[]>? tun = null)
    {
        var copy = datagram.ToArray();
        var result = to.ProcessInbound(copy, from, Now);
        if (result.Action == InboundAction.WriteToTun)
        {
            (tun ?? (ReferenceEquals(to, A) ? TunA : TunB)).Add(copy.AsSpan(result.Offset, result.Length).ToArray());
        }

        return result;
    }

    /// <summary>Seals a packet at a device; a datagram to send goes into its outbox as a driver would.</summary>
    public OutboundResult Send(WireGuardDevice from, byte[] packet)
    {
        var buffer = new byte[WireGuardDevice.HeadRoom + packet.Length + WireGuardDevice.TailRoom];
        packet.CopyTo(buffer, WireGuardDevice.HeadRoom);
        var result = from.EncryptOutbound(buffer, packet.Length, Now);
        if (result.Action == OutboundAction.Send)
        {
            (ReferenceEquals(from, A) ? OutboxA : OutboxB).Send(buffer.AsSpan(0, result.Length), result.Destination);
        }

        return result;
    }

    public static DeviceConfigUpdate Config(NodePrivateKey key, NodePublicKey peer, EndpointAddress? endpoint, string allowed)
    {
        var update = new DeviceConfigUpdate { PrivateKey = key };
        var peerUpdate = new PeerConfigUpdate(peer) { Endpoint = endpoint?.ToIPEndPoint() };
        peerUpdate.AllowedIps.Add(IPNetwork.Parse(allowed));
        update.Peers.Add(peerUpdate);
        return update;
    }

    /// <summary>A minimal IPv4/UDP packet from <paramref name="source"/> to <paramref name="destination"/> with a payload.</summary>
    public static byte[] Udp4(string source, string destination, int payloadLength, byte fill = 0xAB)
    {
        var packet = new byte[28 + payloadLength];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        packet[8] = 64;
        packet[9] = 17;
        IPAddress.Parse(source).TryWriteBytes(packet.AsSpan(12, 4), out _);
        IPAddress.Parse(destination).TryWriteBytes(packet.AsSpan(16, 4), out _);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + payloadLength));
        packet.AsSpan(28).Fill(fill);
        return packet;
    }

    /// <summary>Collects what a device sends.</summary>
    internal sealed class Outbox : IDatagramSender
    {
        private readonly Queue<byte[]> _queue = new();

        public int Count => _queue.Count;

        public List<byte[]> Sent { get; } = [];

        /// <summary>Where each datagram in <see cref="Sent"/> went, in the same order.</summary>
        public List<EndpointAddress> Destinations { get; } = [];

        public void Send(ReadOnlySpan<byte> datagram, EndpointAddress destination)
        {
            var copy = datagram.ToArray();
            _queue.Enqueue(copy);
            Sent.Add(copy);
            Destinations.Add(destination);
        }

        public List<byte[]> Drain()
        {
            var all = _queue.ToList();
            _queue.Clear();
            return all;
        }

        public int CountSent(byte type) => Sent.Count(d => d[0] == type);
    }
}
