namespace Meshwire.Policy.Model;

/// <summary>
/// A set of IP protocol numbers (IANA "Assigned Internet Protocol Numbers"), 256 bits held inline so
/// the packet filter can test membership without allocating.
/// </summary>
public readonly struct ProtocolSet : IEquatable<ProtocolSet>
{
    public const byte Icmp = 1;
    public const byte Igmp = 2;
    public const byte IpInIp = 4;
    public const byte Tcp = 6;
    public const byte Egp = 8;
    public const byte Igp = 9;
    public const byte Udp = 17;
    public const byte Gre = 47;
    public const byte Esp = 50;
    public const byte Ah = 51;
    public const byte Icmpv6 = 58;
    public const byte Sctp = 132;

    private readonly ulong _b0;
    private readonly ulong _b1;
    private readonly ulong _b2;
    private readonly ulong _b3;

    private ProtocolSet(ulong b0, ulong b1, ulong b2, ulong b3)
    {
        _b0 = b0;
        _b1 = b1;
        _b2 = b2;
        _b3 = b3;
    }

    public static ProtocolSet Empty => default;

    /// <summary>Every protocol number.</summary>
    public static ProtocolSet Any => new(ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue);

    /// <summary>What a rule without "proto" allows: TCP, UDP, ICMP and ICMPv6 (Tailscale's documented default).</summary>
    public static ProtocolSet Default => Of(Tcp, Udp, Icmp, Icmpv6);

    public static ProtocolSet Of(params ReadOnlySpan<byte> protocols)
    {
        var set = Empty;
        foreach (var p in protocols)
        {
            set = set.With(p);
        }

        return set;
    }

    public bool IsEmpty => (_b0 | _b1 | _b2 | _b3) == 0;

    public bool Contains(byte protocol)
    {
        var bit = 1UL << (protocol & 63);
        return (protocol >> 6) switch
        {
            0 => (_b0 & bit) != 0,
            1 => (_b1 & bit) != 0,
            2 => (_b2 & bit) != 0,
            _ => (_b3 & bit) != 0,
        };
    }

    public ProtocolSet With(byte protocol)
    {
        var bit = 1UL << (protocol & 63);
        return (protocol >> 6) switch
        {
            0 => new(_b0 | bit, _b1, _b2, _b3),
            1 => new(_b0, _b1 | bit, _b2, _b3),
            2 => new(_b0, _b1, _b2 | bit, _b3),
            _ => new(_b0, _b1, _b2, _b3 | bit),
        };
    }

    public ProtocolSet Union(ProtocolSet other) => new(_b0 | other._b0, _b1 | other._b1, _b2 | other._b2, _b3 | other._b3);

    /// <summary>True when every member carries ports (TCP, UDP, SCTP), so a port list is meaningful.</summary>
    public bool OnlyPortProtocols => !IsEmpty && Union(Of(Tcp, Udp, Sctp)).Equals(Of(Tcp, Udp, Sctp));

    public IEnumerable<byte> Members()
    {
        for (var p = 0; p < 256; p++)
        {
            if (Contains((byte)p))
            {
                yield return (byte)p;
            }
        }
    }

    public bool Equals(ProtocolSet other) => _b0 == other._b0 && _b1 == other._b1 && _b2 == other._b2 && _b3 == other._b3;

    public override bool Equals(object? obj) => obj is ProtocolSet other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_b0, _b1, _b2, _b3);

    public static bool operator ==(ProtocolSet left, ProtocolSet right) => left.Equals(right);

    public static bool operator !=(ProtocolSet left, ProtocolSet right) => !left.Equals(right);

    public override string ToString() => Equals(Any) ? "*" : string.Join(",", Members());
}
