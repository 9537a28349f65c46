using Meshwire.Fuzz.Targets;

namespace Meshwire.Fuzz;

/// <summary>Every fuzz target by name; `./run fuzz` runs them in this order.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        WireGuardDeviceTarget.Target,
        WireGuardHandshakeTarget.Target,
        UapiTarget.Target,
        RelayFramesTarget.Target,
        StunTarget.Target,
        DiscoTarget.Target,
        ControlJsonTarget.Target,
        ControlFramesTarget.Target,
        HuJsonTarget.Target,
        PolicyTarget.Target,
        LocalApiInputTarget.Target,
        IpPacketTarget.Target,
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
