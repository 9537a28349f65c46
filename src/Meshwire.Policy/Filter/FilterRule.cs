using System.Net;
using Meshwire.Policy.Model;

namespace Meshwire.Policy.Filter;

/// <summary>
/// One compiled inbound allow rule of a node: packets from any of <see cref="Sources"/> to any of
/// <see cref="Destinations"/> using one of <see cref="Protocols"/> pass. Ports apply to TCP, UDP and SCTP;
/// other protocols match on addresses alone. <see cref="Sources"/> lists are shared between the rules of
/// many nodes (the compiler resolves each policy rule's sources once), so treat them as read-only.
/// </summary>
public sealed record FilterRule(
    IReadOnlyList<IPNetwork> Sources,
    IReadOnlyList<FilterDestination> Destinations,
    ProtocolSet Protocols,
    NetworkRule? Origin = null);

/// <summary>A destination prefix (normally one of the node's own addresses) and the ports open on it.</summary>
public readonly record struct FilterDestination(IPNetwork Prefix, PortRange Ports);
