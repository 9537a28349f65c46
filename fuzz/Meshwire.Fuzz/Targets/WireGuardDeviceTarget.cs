using System.Buffers.Binary;
using System.Net;
using Meshwire.Core;
using Meshwire.WireGuard.Config;
using Meshwire.WireGuard.Crypto;
using Meshwire.WireGuard.Device;
using Meshwire.WireGuard.Noise;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// The WireGuard device's inbound path (WireGuardDevice.ProcessInbound): device A has a live session with peer B
/// (10.0.0.2/32), and the input is a series of records, each: kind (1) | length (2, LE) | bytes. Kinds: 0 a raw
/// datagram from anywhere; 1 an inner packet sealed by B under the live session; 2, 3, 4 an initiation, response or
/// cookie reply built from the bytes (type and size fixed, MAC1 made valid for A, so the handshake readers run);
/// 5 time passes (at most 60 s in all) and A's timers run.
/// Contract: nothing throws; a result's range lies inside the datagram; nothing that B did not seal reaches TUN;
/// what reaches TUN is the sealed packet's own bytes, from B's allowed source; a well-formed packet from B's address
/// is delivered; and after all of it a fresh packet from B still gets through (no input breaks the session).
/// </summary>
public static class WireGuardDeviceTarget
{
    public static readonly FuzzTarget Target = new("wireguard-device", "WireGuard device inbound: transport, initiation, response, cookie reply", Run, Seeds);

    internal static readonly EndpointAddress EndpointA = EndpointAddress.FromBytes([192, 0, 2, 1], 51820);
    internal static readonly EndpointAddress EndpointB = EndpointAddress.FromBytes([192, 0, 2, 2], 51820);
    internal static readonly NodePrivateKey KeyA = NodePrivateKey.FromSpan(RelayFramesTarget.Fixed(31));
    internal static readonly NodePrivateKey KeyB = NodePrivateKey.FromSpan(RelayFramesTarget.Fixed(32));
    private static readonly TimeSpan Start = TimeSpan.FromDays(21);
    private static readonly TimeSpan MaxAdvance = TimeSpan.FromSeconds(60);

    public static void Run(ReadOnlySpan<byte> input)
    {
        var pair = new Pair();
        var rest = input;
        for (var records = 0; records < 64 && rest.Length >= 3; records++)
        {
            var kind = rest[0] % 6;
            var length = Math.Min(BinaryPrimitives.ReadUInt16LittleEndian(rest[1..]), rest.Length - 3);
            var data = rest.Slice(3, length);
            rest = rest[(3 + length)..];
            switch (kind)
            {
                case 0:
                    var source = length > 0 && (data[0] & 1) == 1 ? EndpointB : EndpointAddress.FromBytes([203, 0, 113, data.IsEmpty ? (byte)0 : data[0]], 4242);
                    var raw = Deliver(pair, data.ToArray(), source);
                    Check(raw.Action != InboundAction.WriteToTun, "an unsealed datagram reached TUN");
                    break;
                case 1:
                    DeliverSealed(pair, data);
                    break;
                case 2:
                    Check(Deliver(pair, Handshake(pair, data, MessageType.Initiation, MessageSize.Initiation), EndpointB).Action != InboundAction.WriteToTun, "an initiation reached TUN");
                    break;
                case 3:
                    Check(Deliver(pair, Handshake(pair, data, MessageType.Response, MessageSize.Response), EndpointB).Action != InboundAction.WriteToTun, "a response reached TUN");
                    break;
                case 4:
                    Check(Deliver(pair, Handshake(pair, data, MessageType.CookieReply, MessageSize.CookieReply), EndpointB).Action != InboundAction.WriteToTun, "a cookie reply reached TUN");
                    break;
                default:
                    var step = TimeSpan.FromMilliseconds(100 * (data.IsEmpty ? 1 : data[0] + 1));
                    pair.Now = pair.Now + step > Start + MaxAdvance ? Start + MaxAdvance : pair.Now + step;
                    pair.A.Tick(pair.Now);
                    break;
            }
        }

        var probe = Pair.Udp4("10.0.0.2", "10.0.0.1", 11);
        var final = pair.DeliverSealedByB(probe, out var datagram);
        Check(final.Action == InboundAction.WriteToTun && datagram.AsSpan(final.Offset, final.Length).SequenceEqual(probe), "after the input a fresh packet from the peer no longer gets through");
    }

    private static InboundResult Deliver(Pair pair, byte[] datagram, EndpointAddress source)
    {
        var result = pair.A.ProcessInbound(datagram, source, pair.Now);
        Check(Enum.IsDefined(result.Action), $"undefined action {result.Action}");
        Check(result.Offset >= 0 && result.Length >= 0 && result.Offset + result.Length <= datagram.Length, $"result range {result.Offset}+{result.Length} outside a {datagram.Length}-byte datagram");
        Check(result.Action == InboundAction.WriteToTun || (result.Offset == 0 && result.Length == 0), $"{result.Action} with a range");
        return result;
    }

    private static void DeliverSealed(Pair pair, ReadOnlySpan<byte> packet)
    {
        var result = pair.DeliverSealedByB(packet, out var datagram);
        Check(result.Offset >= 0 && result.Length >= 0 && result.Offset + result.Length <= datagram.Length, "result range outside the datagram");
        if (packet.IsEmpty)
        {
            Check(result.Action == InboundAction.Handled, $"a keepalive gave {result.Action}");
            return;
        }

        if (result.Action == InboundAction.WriteToTun)
        {
            Check(result.Offset == WireGuardDevice.HeadRoom, "plaintext not right after the header");
            var delivered = datagram.AsSpan(result.Offset, result.Length);
            var padded = new byte[Math.Max(packet.Length, delivered.Length)];
            packet.CopyTo(padded);
            Check(delivered.SequenceEqual(padded.AsSpan(0, result.Length)), "TUN gets other bytes than the peer sealed");
            Check(delivered.Length >= 20 && delivered[0] >> 4 == 4 && delivered.Slice(12, 4).SequenceEqual(new byte[] { 10, 0, 0, 2 }),
                "a packet not from the peer's allowed address reached TUN");
            Check(BinaryPrimitives.ReadUInt16BigEndian(delivered[2..]) == result.Length, "the length given to TUN is not the header's total length");
        }

        // A well-formed IPv4 header from 10.0.0.2 whose total length is the packet's must be delivered.
        var wellFormed = packet.Length >= 20 && packet[0] >> 4 == 4 && BinaryPrimitives.ReadUInt16BigEndian(packet[2..]) == packet.Length
            && packet.Slice(12, 4).SequenceEqual(new byte[] { 10, 0, 0, 2 }) && packet.Length <= pair.A.Mtu;
        Check(!wellFormed || result.Action == InboundAction.WriteToTun, $"a well-formed packet from the peer gave {result.Action}");
    }

    /// <summary>A handshake message of the kind's type and size from the input's bytes, its MAC1 made valid for A (MAC2 left as given).</summary>
    private static byte[] Handshake(Pair pair, ReadOnlySpan<byte> data, byte type, int size)
    {
        var message = new byte[size];
        data[..Math.Min(data.Length, size)].CopyTo(message);
        message[0] = type;
        message[1] = message[2] = message[3] = 0;
        if (type != MessageType.CookieReply)
        {
            var mac1 = size - 32;
            Blake2s.Mac(pair.IdentityA.Mac1Key.Span, message.AsSpan(0, mac1), message.AsSpan(mac1, 16));
        }
        else if (data.Length < 8)
        {
            // Name the index of the live session, so the cookie reply reaches a peer's handshake.
            BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), pair.LiveIndexAtA);
        }

        return message;
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        static byte[] Record(int kind, byte[] data) => [(byte)kind, (byte)data.Length, (byte)(data.Length >> 8), .. data];
        var pair = new Pair();
        var initiation = pair.InitiationFromB();
        yield return ("sealed-udp", Record(1, Pair.Udp4("10.0.0.2", "10.0.0.1", 32)));
        yield return ("sealed-keepalive", Record(1, []));
        yield return ("sealed-wrong-source", Record(1, Pair.Udp4("10.0.0.9", "10.0.0.1", 4)));
        yield return ("initiation-from-b", Record(2, initiation));
        yield return ("raw-initiation", Record(0, initiation));
        yield return ("response", Record(3, new byte[MessageSize.Response]));
        yield return ("cookie-reply", Record(4, []));
        yield return ("time-then-packet", [.. Record(5, [200]), .. Record(1, Pair.Udp4("10.0.0.2", "10.0.0.1", 1))]);
        yield return ("raw-transport", Record(0, [4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. new byte[32]]));
    }

    /// <summary>A and B configured for each other, B's handshake completed with A, deterministic ephemeral keys and wall clock.</summary>
    internal sealed class Pair
    {
        public Pair()
        {
            A = new WireGuardDevice(OutboxA, FixedClock.Instance, new Random(1));
            B = new WireGuardDevice(OutboxB, FixedClock.Instance, new Random(2));
            IdentityA = new LocalIdentity(KeyA);
            A.ApplyConfig(Config(KeyA, X25519Keys.PublicKeyOf(KeyB), EndpointB, "10.0.0.2/32"), Now);
            B.ApplyConfig(Config(KeyB, X25519Keys.PublicKeyOf(KeyA), EndpointA, "10.0.0.1/32"), Now);
            A.FindPeer(X25519Keys.PublicKeyOf(KeyB))!.Handshake.EphemeralKeySource = () => NodePrivateKey.FromSpan(RelayFramesTarget.Fixed(33));
            PeerAtB = B.FindPeer(X25519Keys.PublicKeyOf(KeyA))!;
            PeerAtB.Handshake.EphemeralKeySource = () => NodePrivateKey.FromSpan(RelayFramesTarget.Fixed(34));

            // B's first packet starts the handshake; deliver initiation → response → keepalive.
            var first = Udp4("10.0.0.2", "10.0.0.1", 1);
            var buffer = new byte[WireGuardDevice.HeadRoom + first.Length + WireGuardDevice.TailRoom];
            first.CopyTo(buffer, WireGuardDevice.HeadRoom);
            B.EncryptOutbound(buffer, first.Length, Now);
            for (var round = 0; round < 4 && (OutboxA.Queue.Count > 0 || OutboxB.Queue.Count > 0); round++)
            {
                while (OutboxB.Queue.TryDequeue(out var toA))
                {
                    A.ProcessInbound(toA, EndpointB, Now);
                    if (toA[0] == 4)
                    {
                        LiveIndexAtA = BinaryPrimitives.ReadUInt32LittleEndian(toA.AsSpan(4));
                    }
                }

                while (OutboxA.Queue.TryDequeue(out var toB))
                {
                    B.ProcessInbound(toB, EndpointA, Now);
                }
            }

            Check(LiveIndexAtA != 0, "the fixture's handshake did not complete");
            OutboxA.Queue.Clear();
            OutboxB.Queue.Clear();
        }

        public WireGuardDevice A { get; }

        public WireGuardDevice B { get; }

        public LocalIdentity IdentityA { get; }

        public Peer PeerAtB { get; }

        public uint LiveIndexAtA { get; }

        public Outbox OutboxA { get; } = new();

        public Outbox OutboxB { get; } = new();

        public TimeSpan Now { get; set; } = Start;

        public InboundResult DeliverSealedByB(ReadOnlySpan<byte> packet, out byte[] datagram)
        {
            var buffer = new byte[WireGuardDevice.HeadRoom + packet.Length + WireGuardDevice.TailRoom + B.Mtu];
            packet.CopyTo(buffer.AsSpan(WireGuardDevice.HeadRoom));
            var sealedResult = B.SealFor(PeerAtB, buffer, packet.Length, Now);
            Check(sealedResult.Action == OutboundAction.Send, $"B could not seal: {sealedResult.Action}");
            datagram = buffer[..sealedResult.Length];
            var result = A.ProcessInbound(datagram, EndpointB, Now);
            return result;
        }

        /// <summary>A real initiation from B to A (B's second handshake), for seeds.</summary>
        public byte[] InitiationFromB() => new PeerHandshakeProbe(KeyB, X25519Keys.PublicKeyOf(KeyA)).Initiation;

        public static byte[] Udp4(string source, string destination, int payloadLength)
        {
            var packet = new byte[28 + payloadLength];
            packet[0] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
            packet[8] = 64;
            packet[9] = 17;
            IPAddress.Parse(source).TryWriteBytes(packet.AsSpan(12, 4), out _);
            IPAddress.Parse(destination).TryWriteBytes(packet.AsSpan(16, 4), out _);
            BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(24), (ushort)(8 + payloadLength));
            return packet;
        }

        private static DeviceConfigUpdate Config(NodePrivateKey key, NodePublicKey peer, EndpointAddress endpoint, string allowed)
        {
            var update = new DeviceConfigUpdate { PrivateKey = key };
            var peerUpdate = new PeerConfigUpdate(peer) { Endpoint = endpoint.ToIPEndPoint() };
            peerUpdate.AllowedIps.Add(IPNetwork.Parse(allowed));
            update.Peers.Add(peerUpdate);
            return update;
        }
    }

    /// <summary>A standalone handshake of <paramref name="local"/> towards <paramref name="remote"/>: one real initiation.</summary>
    internal sealed class PeerHandshakeProbe
    {
        public PeerHandshakeProbe(NodePrivateKey local, NodePublicKey remote, uint index = 0x01020304)
        {
            var handshake = new Handshake(new LocalIdentity(local), remote, PresharedKey.None) { EphemeralKeySource = () => NodePrivateKey.FromSpan(RelayFramesTarget.Fixed(35)) };
            Check(handshake.TryCreateInitiation(index, FixedClock.Instance.GetUtcNow(), Start, Initiation), "could not create an initiation");
        }

        public byte[] Initiation { get; } = new byte[MessageSize.Initiation];
    }

    internal sealed class Outbox : IDatagramSender
    {
        public Queue<byte[]> Queue { get; } = new();

        public void Send(ReadOnlySpan<byte> datagram, EndpointAddress destination) => Queue.Enqueue(datagram.ToArray());
    }

    /// <summary>A wall clock stopped at one instant: handshake timestamps stay the same from run to run.</summary>
    internal sealed class FixedClock : TimeProvider
    {
        public static readonly FixedClock Instance = new();

        public override DateTimeOffset GetUtcNow() => new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    }
}
