using Meshwire.Agent.Translation;

namespace Meshwire.Agent.Interface;

/// <summary>Puts the node's tailnet addresses and routes on the WireGuard interface (kept behind an interface so the agent runs without root in tests).</summary>
public interface IInterfaceConfigurator
{
    /// <summary>Moves the interface from <paramref name="previous"/> (what this process applied last) to <paramref name="wanted"/>.</summary>
    void Apply(InterfaceAddressing previous, InterfaceAddressing wanted);
}
