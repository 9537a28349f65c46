using System.Buffers;
using System.Buffers.Binary;

namespace Meshwire.Relay.Frames;

/// <summary>Outcome of reading one frame from buffered input.</summary>
public enum FrameReadStatus
{
    /// <summary>A whole frame was read; <c>consumed</c> bytes may be released.</summary>
    Frame,

    /// <summary>The input holds only part of a frame; read more and try again.</summary>
    NeedMoreData,

    /// <summary>The header announces a payload above <see cref="RelayProtocol.MaxFramePayload"/>; close the connection.</summary>
    Oversize,
}

/// <summary>Sans-I/O frame decoder: bytes in, one frame view out, never allocates, never throws.</summary>
public static class FrameReader
{
    /// <summary>Reads one frame from the start of <paramref name="input"/>; the payload aliases the input.</summary>
    public static FrameReadStatus TryRead(ReadOnlySpan<byte> input, out FrameType type, out ReadOnlySpan<byte> payload, out int consumed)
    {
        type = default;
        payload = default;
        consumed = 0;
        if (input.Length < RelayProtocol.FrameHeaderLength)
        {
            return FrameReadStatus.NeedMoreData;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(input[1..]);
        if (length > RelayProtocol.MaxFramePayload)
        {
            return FrameReadStatus.Oversize;
        }

        var total = RelayProtocol.FrameHeaderLength + (int)length;
        if (input.Length < total)
        {
            return FrameReadStatus.NeedMoreData;
        }

        type = (FrameType)input[0];
        payload = input.Slice(RelayProtocol.FrameHeaderLength, (int)length);
        consumed = total;
        return FrameReadStatus.Frame;
    }

    /// <summary>
    /// Reads one frame from a pipe's buffer. A frame that straddles segments is copied into
    /// <paramref name="scratch"/> (rented here, returned by the caller with <see cref="ReturnScratch"/>).
    /// </summary>
    public static FrameReadStatus TryRead(in ReadOnlySequence<byte> input, ref byte[]? scratch, out FrameType type, out ReadOnlySpan<byte> payload, out int consumed)
    {
        var first = input.FirstSpan;
        var status = TryRead(first, out type, out payload, out consumed);
        if (status != FrameReadStatus.NeedMoreData || input.IsSingleSegment)
        {
            return status;
        }

        if (input.Length < RelayProtocol.FrameHeaderLength)
        {
            return FrameReadStatus.NeedMoreData;
        }

        Span<byte> header = stackalloc byte[RelayProtocol.FrameHeaderLength];
        input.Slice(0, RelayProtocol.FrameHeaderLength).CopyTo(header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > RelayProtocol.MaxFramePayload)
        {
            return FrameReadStatus.Oversize;
        }

        var total = RelayProtocol.FrameHeaderLength + (int)length;
        if (input.Length < total)
        {
            return FrameReadStatus.NeedMoreData;
        }

        scratch ??= ArrayPool<byte>.Shared.Rent(total);
        if (scratch.Length < total)
        {
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = ArrayPool<byte>.Shared.Rent(total);
        }

        input.Slice(0, total).CopyTo(scratch);
        return TryRead(scratch.AsSpan(0, total), out type, out payload, out consumed);
    }

    public static void ReturnScratch(ref byte[]? scratch)
    {
        if (scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(scratch);
            scratch = null;
        }
    }
}
