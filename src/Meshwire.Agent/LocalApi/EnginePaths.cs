using System.Net;
using Meshwire.Agent.Paths;
using Meshwire.Core;
using Meshwire.WireGuard.Config;

namespace Meshwire.Agent.LocalApi;

/// <summary>
/// The stand-in for <see cref="IPeerPaths"/> until the path layer is wired in: a peer's path is the engine's
/// endpoint for it (direct) or none; ping and netcheck answer that they are not available.
/// </summary>
public sealed class EnginePaths(IConfigurableDevice engine) : IPeerPaths
{
    public const string NotAvailable = "this meshwired has no path layer (ping and netcheck are not available)";

    public PeerPathInfo PathOf(NodePublicKey peer)
    {
        foreach (var status in engine.GetStatus().Peers)
        {
            if (status.PublicKey == peer && status.Endpoint is { } endpoint)
            {
                return new PeerPathInfo(PathKind.Direct, EndpointAddress.FromIPEndPoint(endpoint));
            }
        }

        return new PeerPathInfo(PathKind.None);
    }

    public Task<PingResult> PingAsync(NodePublicKey peer, IPAddress target, TimeSpan timeout, CancellationToken cancellationToken) =>
        Task.FromResult(new PingResult(false, TimeSpan.Zero, PathOf(peer), NotAvailable));

    public Task<NetcheckReport> NetcheckAsync(CancellationToken cancellationToken) =>
        Task.FromException<NetcheckReport>(new NotSupportedException(NotAvailable));
}
