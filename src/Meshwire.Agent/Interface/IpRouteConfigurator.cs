using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Meshwire.Agent.Translation;

namespace Meshwire.Agent.Interface;

/// <summary>
/// Configures the interface with iproute2: link up, `ip addr replace` for each address, `ip route replace` for each
/// route, and deletes what the previous addressing had and the new one lacks. `replace` makes every step idempotent,
/// so a restart over an interface left configured (or half configured) converges.
/// <paramref name="commandPrefix"/> runs ip under a wrapper, e.g. ["ip", "netns", "exec", "ns1"] in labs.
/// </summary>
public sealed class IpRouteConfigurator(string interfaceName, IReadOnlyList<string>? commandPrefix = null) : IInterfaceConfigurator
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly IReadOnlyList<string> _prefix = commandPrefix ?? [];

    public void Apply(InterfaceAddressing previous, InterfaceAddressing wanted)
    {
        Ip("link", "set", interfaceName, "up");
        foreach (var address in previous.Addresses.Except(wanted.Addresses))
        {
            TryIp(Family(address), "addr", "del", address.ToString(), "dev", interfaceName);
        }

        foreach (var address in wanted.Addresses)
        {
            Ip(Family(address), "addr", "replace", address.ToString(), "dev", interfaceName);
        }

        foreach (var route in previous.Routes.Except(wanted.Routes))
        {
            TryIp(Family(route), "route", "del", route.ToString(), "dev", interfaceName);
        }

        foreach (var route in wanted.Routes)
        {
            Ip(Family(route), "route", "replace", route.ToString(), "dev", interfaceName);
        }
    }

    private static string Family(IPNetwork prefix) => prefix.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? "-6" : "-4";

    private void Ip(params string[] args)
    {
        if (Run(args) is { } error)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)} failed: {error}");
        }
    }

    // Deleting what is already gone is not an error: someone else may have cleaned up.
    private void TryIp(params string[] args) => _ = Run(args);

    /// <summary>Null on success, else what ip said.</summary>
    private string? Run(string[] args)
    {
        var file = _prefix.Count > 0 ? _prefix[0] : "ip";
        var arguments = _prefix.Count > 0 ? [.. _prefix.Skip(1), "ip", .. args] : args;
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var error = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill();
            return "timed out";
        }

        return process.ExitCode == 0 ? null : error.Result.Trim();
    }
}
