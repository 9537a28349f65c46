namespace Meshwire.Policy.Filter;

/// <summary>Why an inbound packet was dropped; each has its own counter.</summary>
public enum FilterDropReason
{
    None = 0,

    /// <summary>Not a well-formed IPv4/IPv6 packet, a truncated transport header, or a tiny overlapping fragment.</summary>
    Malformed = 1,

    /// <summary>No rule allows it and it is not a reply to a tracked outbound flow.</summary>
    PolicyDenied = 2,

    /// <summary>A non-first fragment whose first fragment was not accepted (or has expired).</summary>
    UnmatchedFragment = 3,
}

/// <summary>How an inbound packet was accepted, for counters and `explain`-style diagnostics.</summary>
public enum FilterAcceptReason
{
    None = 0,
    Rule = 1,
    ReplyToOutboundFlow = 2,
    FragmentOfAcceptedPacket = 3,
}

/// <summary>The result of <see cref="PacketFilter.Check"/>: accepted (and why) or dropped (and why).</summary>
public readonly record struct FilterVerdict(FilterAcceptReason AcceptReason, FilterDropReason DropReason)
{
    public bool IsAccepted => AcceptReason != FilterAcceptReason.None;

    public static FilterVerdict Accept(FilterAcceptReason reason) => new(reason, FilterDropReason.None);

    public static FilterVerdict Drop(FilterDropReason reason) => new(FilterAcceptReason.None, reason);
}
