namespace Meshwire.Policy.Model;

/// <summary>An inclusive range of TCP/UDP/SCTP ports; <see cref="All"/> is the policy's "*".</summary>
public readonly record struct PortRange(ushort First, ushort Last)
{
    public static PortRange All => new(0, ushort.MaxValue);

    public bool IsAll => First == 0 && Last == ushort.MaxValue;

    public bool Contains(int port) => port >= First && port <= Last;

    public override string ToString() => IsAll ? "*" : First == Last ? First.ToString() : $"{First}-{Last}";
}
