using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Meshwire.Agent;

/// <summary>
/// The direct endpoints a node advertises before it has STUN: every up, non-loopback interface address other than
/// the tailnet interface's own, with the engine's listen port. Link-local IPv6 is left out (it needs a scope).
/// </summary>
public static class LocalEndpoints
{
    public static IReadOnlyList<string> Discover(ushort port, string excludeInterface) =>
        [.. DiscoverEndpoints(port, excludeInterface).Select(e => e.ToString())];

    /// <summary>The same endpoints as values, for the path layer.</summary>
    public static IReadOnlyList<IPEndPoint> DiscoverEndpoints(ushort port, string excludeInterface)
    {
        var endpoints = new List<IPEndPoint>();
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            if (nic.Name == excludeInterface || nic.OperationalStatus == OperationalStatus.Down
                || nic.NetworkInterfaceType == NetworkInterfaceType.Loopback)
            {
                continue;
            }

            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                var address = unicast.Address;
                if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal
                    || (address.AddressFamily != AddressFamily.InterNetwork && address.AddressFamily != AddressFamily.InterNetworkV6))
                {
                    continue;
                }

                endpoints.Add(new IPEndPoint(address, port));
            }
        }

        return endpoints;
    }
}
