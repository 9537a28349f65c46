using System.Buffers;

namespace Meshwire.Fuzz.Targets;

/// <summary>Builds a two-segment <see cref="ReadOnlySequence{T}"/>, as a pipe hands over data that arrived in two reads.</summary>
internal sealed class Segment : ReadOnlySequenceSegment<byte>
{
    private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(ReadOnlyMemory<byte> data, int at)
    {
        var first = new Segment(data[..at], 0);
        var second = new Segment(data[at..], at);
        first.Next = second;
        return new ReadOnlySequence<byte>(first, 0, second, second.Memory.Length);
    }
}
