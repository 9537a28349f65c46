using System.Buffers.Binary;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// The 12-byte TAI64N timestamp carried encrypted in each initiation (W 5.1, 5.4.2): 8 bytes big-endian seconds
/// with the TAI64 label, then 4 bytes big-endian nanoseconds. Responders only accept strictly increasing values,
/// so comparing the big-endian bytes is the whole ordering.
/// </summary>
internal readonly record struct Tai64N(ulong Seconds, uint Nanoseconds) : IComparable<Tai64N>
{
    public const int Length = 12;

    // 2^62 (the TAI64 label) + 10 (TAI − UTC as fixed in 1972), as wireguard-go and the kernel write it.
    private const ulong Base = 0x4000_0000_0000_000A;

    // Nanoseconds are rounded down to 2^24 ns (about 16.8 ms, under the 20 ms flood interval) so the timestamp
    // does not reveal the sender's clock precisely; wireguard-go and the kernel do the same.
    private const uint WhitenerMask = 0x00FF_FFFF;

    public static Tai64N FromWallClock(DateTimeOffset wallClock)
    {
        var unixSeconds = wallClock.ToUnixTimeSeconds();
        var nanoseconds = (uint)(wallClock.UtcTicks % TimeSpan.TicksPerSecond * 100);
        return new Tai64N(unchecked(Base + (ulong)unixSeconds), nanoseconds & ~WhitenerMask);
    }

    public static Tai64N Read(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(source), BinaryPrimitives.ReadUInt32BigEndian(source[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Seconds);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Nanoseconds);
    }

    public int CompareTo(Tai64N other)
    {
        var bySeconds = Seconds.CompareTo(other.Seconds);
        return bySeconds != 0 ? bySeconds : Nanoseconds.CompareTo(other.Nanoseconds);
    }

    public static bool operator >(Tai64N left, Tai64N right) => left.CompareTo(right) > 0;

    public static bool operator <(Tai64N left, Tai64N right) => left.CompareTo(right) < 0;

    public static bool operator >=(Tai64N left, Tai64N right) => left.CompareTo(right) >= 0;

    public static bool operator <=(Tai64N left, Tai64N right) => left.CompareTo(right) <= 0;
}
