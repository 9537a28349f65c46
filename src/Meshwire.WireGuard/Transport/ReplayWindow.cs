using Meshwire.WireGuard.Protocol;

namespace Meshwire.WireGuard.Transport;

/// <summary>
/// The receiving side's sliding window over transport counters (whitepaper 5.4.6), kept as a ring of 64-bit blocks in
/// the manner of RFC 6479: moving the window forward clears whole blocks instead of shifting bits, so a jump costs at
/// most one pass over the ring. The ring holds <see cref="TotalBits"/> bits; one block is always being recycled, so the
/// guaranteed window is <see cref="WindowSize"/> counters behind the highest accepted one, well above the 2048 that
/// reordering across queues and paths needs.
/// </summary>
/// <remarks>
/// Thread-safe: packets of one keypair are opened on several threads. A short critical section (a handful of
/// arithmetic operations and at most one clear of the ring) guards the state; there is no allocation and no throw.
/// Only authenticated counters may be offered, otherwise a forged counter could slide the window and cause drops.
/// </remarks>
public sealed class ReplayWindow
{
    private const int BitsPerBlock = 64;
    private const int BlockShift = 6;
    private const int BlockCount = 128;
    private const int BlockMask = BlockCount - 1;

    /// <summary>Bits in the ring.</summary>
    public const int TotalBits = BlockCount * BitsPerBlock;

    /// <summary>Counters this far behind the highest accepted counter are still accepted once each.</summary>
    public const int WindowSize = TotalBits - BitsPerBlock;

    // Guards _top and _blocks.
    private readonly Lock _lock = new();

    // Highest accepted counter plus one; zero until the first counter is accepted, so counter 0 needs no special case.
    private ulong _top;

    // Bit (n % TotalBits) is set when counter n - 1 was accepted, for every n within WindowSize of _top.
    private readonly ulong[] _blocks = new ulong[BlockCount];

    /// <summary>
    /// Accepts <paramref name="counter"/> if it is new and inside the window, and records it. Returns false when it was
    /// seen already, is too far behind, or is at or above REJECT_AFTER_MESSAGES.
    /// </summary>
    public bool TryAccept(ulong counter)
    {
        if (counter >= WireGuardConstants.RejectAfterMessages)
        {
            return false;
        }

        // Cannot overflow: counter is below 2^64 - 2^13 - 1.
        var n = counter + 1;
        var blockIndex = n >> BlockShift;
        var bit = 1UL << (int)(n & (BitsPerBlock - 1));

        lock (_lock)
        {
            if (n > _top)
            {
                // Clear every block the window slides over, strictly after the current top's block; a jump of a whole
                // ring or more clears everything.
                var currentBlock = _top >> BlockShift;
                var advance = Math.Min(blockIndex - currentBlock, (ulong)BlockCount);
                for (ulong i = 1; i <= advance; i++)
                {
                    _blocks[(int)((currentBlock + i) & BlockMask)] = 0;
                }

                _top = n;
            }
            else if (n + WindowSize < _top)
            {
                return false;
            }

            ref var block = ref _blocks[(int)(blockIndex & BlockMask)];
            if ((block & bit) != 0)
            {
                return false;
            }

            block |= bit;
            return true;
        }
    }

    /// <summary>The highest counter accepted so far, or null before the first one.</summary>
    public ulong? Highest
    {
        get
        {
            lock (_lock)
            {
                return _top == 0 ? null : _top - 1;
            }
        }
    }
}
