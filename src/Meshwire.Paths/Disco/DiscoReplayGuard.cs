using System.Buffers.Binary;

namespace Meshwire.Paths.Disco;

/// <summary>Why a message that opened was still dropped, or <see cref="Fresh"/>.</summary>
internal enum DiscoReplayVerdict
{
    Fresh,

    /// <summary>Stamped before the replay window (or at or before this sender's time floor).</summary>
    Stale,

    /// <summary>Stamped too far in the future for any plausible clock skew.</summary>
    Future,

    /// <summary>This nonce was already accepted within the window.</summary>
    Replayed,
}

/// <summary>
/// Replay defence for the messages of one sender (docs/discovery.md "Replay"). A message is accepted once, and only
/// when its sender timestamp is within [now − window, now + skew]. Accepted nonces are remembered until they
/// leave the window; memory is bounded: when full, the oldest entry is forgotten and its timestamp becomes a floor
/// at or below which nothing is accepted any more, so forgetting never reopens a replay.
/// Call only after the box opened, so forgeries cannot fill the memory.
/// </summary>
internal sealed class DiscoReplayGuard
{
    private readonly (ulong A, ulong B, long UnixMs)[] _seen = new (ulong, ulong, long)[DiscoConstants.ReplayNoncesPerSender];
    private int _count;
    private long _floorUnixMs = long.MinValue;

    public int Count => _count;

    public DiscoReplayVerdict Check(ReadOnlySpan<byte> nonce, long messageUnixMs, long nowUnixMs)
    {
        var windowMs = (long)DiscoConstants.ReplayWindow.TotalMilliseconds;
        if (messageUnixMs > nowUnixMs + (long)DiscoConstants.MaxFutureSkew.TotalMilliseconds)
        {
            return DiscoReplayVerdict.Future;
        }

        var oldest = nowUnixMs - windowMs;
        if (messageUnixMs < oldest || messageUnixMs <= _floorUnixMs)
        {
            return DiscoReplayVerdict.Stale;
        }

        // 128 of the 192 random nonce bits identify a message well enough.
        var a = BinaryPrimitives.ReadUInt64LittleEndian(nonce);
        var b = BinaryPrimitives.ReadUInt64LittleEndian(nonce[8..]);
        var write = 0;
        var replayed = false;
        for (var i = 0; i < _count; i++)
        {
            var entry = _seen[i];
            if (entry.UnixMs < oldest)
            {
                continue;
            }

            replayed |= entry.A == a && entry.B == b;
            _seen[write++] = entry;
        }

        _count = write;
        if (replayed)
        {
            return DiscoReplayVerdict.Replayed;
        }

        if (_count == _seen.Length)
        {
            var oldestIndex = 0;
            for (var i = 1; i < _count; i++)
            {
                if (_seen[i].UnixMs < _seen[oldestIndex].UnixMs)
                {
                    oldestIndex = i;
                }
            }

            _floorUnixMs = Math.Max(_floorUnixMs, _seen[oldestIndex].UnixMs);
            _seen[oldestIndex] = _seen[--_count];
            if (messageUnixMs <= _floorUnixMs)
            {
                return DiscoReplayVerdict.Stale;
            }
        }

        _seen[_count++] = (a, b, messageUnixMs);
        return DiscoReplayVerdict.Fresh;
    }
}
