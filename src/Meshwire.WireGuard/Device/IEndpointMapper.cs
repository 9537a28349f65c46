using Meshwire.Core;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// Replaces WireGuard's roaming rule when a path layer chooses the way to each peer (meshwired): instead of taking the
/// latest authenticated source address as the peer's endpoint (whitepaper 2.1), the device asks the mapper which
/// endpoint to keep. The path layer answers with the peer's stable virtual endpoint and learns from the real source
/// that a direct path carries traffic. Called on packet threads for every authenticated datagram: no allocation, no throw.
/// </summary>
public interface IEndpointMapper
{
    EndpointAddress OnAuthenticatedSource(NodePublicKey peer, EndpointAddress source, TimeSpan now);
}
