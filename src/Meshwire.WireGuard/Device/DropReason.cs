namespace Meshwire.WireGuard.Device;

/// <summary>Why the device dropped a packet. Every drop is counted; nothing is logged per packet.</summary>
public enum DropReason
{
    MalformedDatagram,
    UnknownReceiverIndex,
    AuthenticationFailed,
    Replayed,
    KeypairExpired,
    InvalidMac1,
    CookieRequired,
    HandshakeRejected,
    UnknownPeer,
    MalformedInnerPacket,
    SourceNotAllowed,
    NoRoute,
    NoEndpoint,
    NoPrivateKey,
    StagedQueueFull,
    HandshakeGaveUp,

    /// <summary>A handshake message found the handshake queue full (a flood, or more handshakes than the workers keep up with).</summary>
    HandshakeQueueFull,

    /// <summary>Under load, a handshake message with a valid cookie from a source over its rate (HandshakeRateLimiter).</summary>
    RateLimited,
}

/// <summary>Drop counters by reason, updated with interlocked adds from packet threads.</summary>
public sealed class DeviceCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public void Drop(DropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    public long Dropped(DropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    public long TotalDropped
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _drops.Length; i++)
            {
                sum += Volatile.Read(ref _drops[i]);
            }

            return sum;
        }
    }

    public IReadOnlyDictionary<DropReason, long> Snapshot() =>
        Enum.GetValues<DropReason>().ToDictionary(r => r, Dropped);
}
