using System.Net;
using Meshwire.Core;

namespace Meshwire.Agent.Translation;

/// <summary>
/// One WireGuard peer as the agent wants it in the engine. <see cref="AllowedIps"/> is sorted and distinct so two
/// peers built from equal maps compare equal with <see cref="SameAs"/>.
/// </summary>
public sealed record EnginePeer(NodePublicKey Key, IReadOnlyList<IPNetwork> AllowedIps, IPEndPoint? Endpoint)
{
    public bool SameAs(EnginePeer other) =>
        Key == other.Key && Equals(Endpoint, other.Endpoint) && AllowedIps.SequenceEqual(other.AllowedIps);
}

/// <summary>The tailnet addresses of this node and the routes that send tailnet traffic into the interface.</summary>
public sealed record InterfaceAddressing(IReadOnlyList<IPNetwork> Addresses, IReadOnlyList<IPNetwork> Routes)
{
    public static InterfaceAddressing None { get; } = new([], []);
}
