using System.Buffers;

namespace Meshwire.Relay.Server;

/// <summary>A whole encoded frame waiting in a send queue. Pooled buffers go back to the pool once written or dropped.</summary>
internal readonly struct OutboundFrame(byte[] buffer, int length, bool pooled)
{
    public ReadOnlySpan<byte> Span => buffer.AsSpan(0, length);

    public int Length => length;

    public static OutboundFrame Rent(int length) => new(ArrayPool<byte>.Shared.Rent(length), length, true);

    public Span<byte> Writable => buffer.AsSpan(0, length);

    public void Release()
    {
        if (pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
