using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Meshwire.Core;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// A token bucket per source address for handshake messages that reach the expensive part of the handshake while
/// the device is under load (whitepaper 5.3; the rates are wireguard-go's and the kernel's): a source may start
/// <see cref="PacketsPerSecond"/> handshakes a second, in bursts of up to <see cref="PacketsBurstable"/>. A cookie
/// proves a source address, not good intent; this is what stops one proven address from keeping the handshake
/// worker busy with Diffie-Hellman work.
/// A source is an IP address, port aside (as in wireguard-go). Not the IPv6 /64 the kernel limits: meshwired gives
/// every relayed peer its own virtual endpoint inside one /64 (see the agent's VirtualEndpoints), and those peers
/// must not share one bucket. Whoever owns a /64 can spread a flood over its addresses, fetching a cookie for each:
/// that keeps the handshake worker busy and the table full, but the worker is off the transport path, so
/// established tunnels carry on.
/// The table is bounded: a source idle for <see cref="GarbageCollectTime"/> is removed (by then its bucket is full
/// again, so forgetting it changes nothing), and while <see cref="MaxEntries"/> sources are live a new source is
/// refused rather than evicting one that is being limited.
/// Sans-I/O: time comes in as a parameter. Thread-safe (one lock); allocation-free once the table has grown.
/// </summary>
public sealed class HandshakeRateLimiter
{
    public const int PacketsPerSecond = 20;
    public const int PacketsBurstable = 5;
    public const int DefaultMaxEntries = 8192;

    /// <summary>How long an idle source stays in the table (wireguard-go sweeps at the same interval).</summary>
    public static readonly TimeSpan GarbageCollectTime = TimeSpan.FromSeconds(1);

    // Tokens are counted in TimeSpan ticks: one packet costs 1/PacketsPerSecond of a second of refill.
    private const long PacketCost = TimeSpan.TicksPerSecond / PacketsPerSecond;
    private const long MaxTokens = PacketCost * PacketsBurstable;

    // Guards _buckets and _nextSweep.
    private readonly Lock _lock = new();
    private readonly Dictionary<SourceKey, Bucket> _buckets = new(64);
    private TimeSpan _nextSweep = TimeSpan.MinValue;

    public HandshakeRateLimiter(int maxEntries = DefaultMaxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        MaxEntries = maxEntries;
    }

    public int MaxEntries { get; }

    /// <summary>Sources in the table now; for tests and metrics.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>True when <paramref name="source"/> may start one more handshake at <paramref name="now"/>; takes its token.</summary>
    public bool Allow(EndpointAddress source, TimeSpan now)
    {
        var key = SourceKey.Of(source);
        lock (_lock)
        {
            if (now >= _nextSweep)
            {
                Sweep(now);
            }

            ref var bucket = ref CollectionsMarshal.GetValueRefOrNullRef(_buckets, key);
            if (Unsafe.IsNullRef(ref bucket))
            {
                if (_buckets.Count >= MaxEntries)
                {
                    return false;
                }

                _buckets.Add(key, new Bucket { LastSeen = now, Tokens = MaxTokens - PacketCost });
                return true;
            }

            // A clock that never runs backwards is the caller's promise; a negative gap refills nothing.
            var refill = Math.Max(0, (now - bucket.LastSeen).Ticks);
            var tokens = Math.Min(MaxTokens, bucket.Tokens + refill);
            bucket.LastSeen = now;
            if (tokens < PacketCost)
            {
                bucket.Tokens = tokens;
                return false;
            }

            bucket.Tokens = tokens - PacketCost;
            return true;
        }
    }

    /// <summary>Removes sources idle for longer than GarbageCollectTime. Caller holds _lock.</summary>
    private void Sweep(TimeSpan now)
    {
        _nextSweep = now + GarbageCollectTime;
        foreach (var (key, bucket) in _buckets)
        {
            if (now - bucket.LastSeen > GarbageCollectTime)
            {
                _buckets.Remove(key);
            }
        }
    }

    private struct Bucket
    {
        public TimeSpan LastSeen;
        public long Tokens;
    }

    /// <summary>The 16 address bytes (IPv4 v4-mapped), without the port: the unit limited.</summary>
    private readonly record struct SourceKey(ulong High, ulong Low)
    {
        public static SourceKey Of(EndpointAddress source)
        {
            Span<byte> address = stackalloc byte[16];
            source.WriteAddress16(address);
            var high = BinaryPrimitives.ReadUInt64BigEndian(address);
            var low = BinaryPrimitives.ReadUInt64BigEndian(address[8..]);
            return new SourceKey(high, low);
        }
    }
}
