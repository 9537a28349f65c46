using System.Buffers;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Timers;
using Meshwire.WireGuard.Transport;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// One peer of a device: its handshake, keypairs, timers, endpoint and counters.
/// Packet threads read <see cref="SendKeypair"/> and <see cref="Endpoint"/> without locking; everything else
/// is guarded by <see cref="Lock"/>.
/// </summary>
public sealed class Peer
{
    /// <summary>Packets kept while a handshake is under way (wireguard-go keeps the same number).</summary>
    internal const int MaxStagedPackets = 128;

    internal readonly Lock Lock = new();

    // Guarded by Lock.
    internal Handshake Handshake;
    internal readonly PeerTimers Timers;
    internal readonly KeypairSet Keypairs = new();
    internal readonly Queue<StagedPacket> Staged = new();
    internal DateTimeOffset? LastHandshake;
    internal bool Removed;

    // A handshake we initiated is unanswered; Expedited once WireGuardDevice.ExpediteHandshake sent an early
    // initiation for it. Both cleared when a handshake completes.
    internal bool HandshakePending;
    internal bool Expedited;

    private volatile Keypair? _sendKeypair;
    private volatile EndpointBox? _endpoint;
    private long _rxBytes;
    private long _txBytes;

    internal Peer(LocalIdentity local, NodePublicKey publicKey, PresharedKey presharedKey, Random jitter)
    {
        PublicKey = publicKey;
        Handshake = new Handshake(local, publicKey, presharedKey);
        Timers = new PeerTimers(jitter);
    }

    public NodePublicKey PublicKey { get; }

    public PresharedKey PresharedKey => Handshake.PresharedKey;

    /// <summary>The keypair packets are sealed with: the confirmed current one.</summary>
    internal Keypair? SendKeypair => _sendKeypair;

    public EndpointAddress Endpoint => _endpoint?.Value ?? default;

    public long RxBytes => Interlocked.Read(ref _rxBytes);

    public long TxBytes => Interlocked.Read(ref _txBytes);

    public TimeSpan PersistentKeepaliveInterval
    {
        get => Timers.PersistentKeepaliveInterval;
        set => Timers.PersistentKeepaliveInterval = value;
    }

    internal void AddRx(int bytes) => Interlocked.Add(ref _rxBytes, bytes);

    internal void AddTx(int bytes) => Interlocked.Add(ref _txBytes, bytes);

    internal void SetEndpoint(EndpointAddress endpoint)
    {
        if (_endpoint?.Value != endpoint)
        {
            _endpoint = endpoint.IsEmpty ? null : new EndpointBox(endpoint);
        }
    }

    /// <summary>Publishes the current keypair for packet threads. Caller holds Lock.</summary>
    internal void PublishSendKeypair() => _sendKeypair = Keypairs.Current;

    /// <summary>Keeps a packet until a session exists; the oldest goes when the queue is full. Caller holds Lock.</summary>
    internal void Stage(ReadOnlySpan<byte> packet)
    {
        if (Staged.Count >= MaxStagedPackets)
        {
            Staged.Dequeue().Return();
        }

        Staged.Enqueue(StagedPacket.Copy(packet));
    }

    internal void DropStaged()
    {
        while (Staged.Count > 0)
        {
            Staged.Dequeue().Return();
        }
    }

    public override string ToString() => PublicKey.ToString();

    /// <summary>An endpoint boxed so that packet threads swap it atomically (EndpointAddress is wider than a word).</summary>
    private sealed record EndpointBox(EndpointAddress Value);
}

/// <summary>A plaintext IP packet waiting for a session, in a pooled buffer.</summary>
internal readonly struct StagedPacket
{
    private readonly byte[] _buffer;

    private StagedPacket(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public static StagedPacket Copy(ReadOnlySpan<byte> packet)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
        packet.CopyTo(buffer);
        return new StagedPacket(buffer, packet.Length);
    }

    public void Return() => ArrayPool<byte>.Shared.Return(_buffer);
}

