namespace Meshwire.Policy.Filter;

public sealed record PacketFilterOptions
{
    /// <summary>Outbound flows remembered for replies; the oldest are evicted past this (memory stays bounded).</summary>
    public int FlowCapacity { get; init; } = 4096;

    /// <summary>A tracked flow with no packet in either direction for this long no longer admits replies.</summary>
    public TimeSpan FlowIdleTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Accepted first fragments remembered so their later fragments pass.</summary>
    public int FragmentCapacity { get; init; } = 256;

    /// <summary>How long later fragments of an accepted first fragment pass (about a reassembly timeout).</summary>
    public TimeSpan FragmentTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Called for a dropped packet at most once per <see cref="DropLogInterval"/>; never per packet.</summary>
    public Action<FilterDropLog>? DropLog { get; init; }

    public TimeSpan DropLogInterval { get; init; } = TimeSpan.FromSeconds(1);
}
