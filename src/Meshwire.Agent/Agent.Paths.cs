using Meshwire.Agent.Paths;
using Meshwire.Control.Client;
using Meshwire.Protocol;
using Microsoft.Extensions.Logging;

namespace Meshwire.Agent;

// The agent and the path layer: each map goes to the router first (it hands back the peers' virtual endpoints);
// while a stream is open, a refresh loop measures (netcheck), picks the home relay and reports changed endpoints
// and home region to control on the open channel, which passes them on to the peers.
public sealed partial class Agent
{
    private static readonly TimeSpan PathRefreshInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FirstPathRefresh = TimeSpan.FromMilliseconds(200);

    private PathRouter? _router;
    private CancellationTokenSource? _session;

    /// <summary>
    /// This machine's addresses changed: connections bound to the old ones are dead. The relays reconnect, the control
    /// session starts over (the new stream reports the new endpoints), and discovery follows traffic to new paths.
    /// </summary>
    public void OnLinkChanged()
    {
        PathLog.LinkChanged(_logger);
        Router?.Relays.Reconnect();
        try
        {
            Volatile.Read(ref _session)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile.
        }
    }

    /// <summary>A token for one control session, cancelled by <see cref="OnLinkChanged"/>; dispose the source after the session.</summary>
    private CancellationTokenSource BeginSession(CancellationToken cancellationToken)
    {
        var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Volatile.Write(ref _session, session);
        return session;
    }

    /// <summary>The path layer (meshwired sets it before RunAsync); null: peers are reached at their first direct endpoint.</summary>
    public PathRouter? Router
    {
        get => _router;
        set
        {
            _router = value;
            PeerPaths = value;
        }
    }

    /// <summary>Starts the refresh loop for one open stream; disposing the result stops it.</summary>
    private CancellationTokenSource? StartPathRefresh(ControlClient client, MapRequest sent, CancellationToken cancellationToken)
    {
        if (Router is not { } router)
        {
            return null;
        }

        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _ = Task.Run(() => RefreshLoopAsync(router, client, sent, stop.Token), CancellationToken.None);
        return stop;
    }

    private async Task RefreshLoopAsync(PathRouter router, ControlClient client, MapRequest sent, CancellationToken cancellationToken)
    {
        var reportedEndpoints = sent.Endpoints ?? [];
        var reportedHome = sent.HomeRelay;
        var wait = FirstPathRefresh;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(wait, _options.Time, cancellationToken);
                wait = PathRefreshInterval;
                if (router.Relays.Map.Regions.Count == 0 && Netmap is null)
                {
                    wait = FirstPathRefresh;
                    continue;
                }

                var endpoints = (await router.RefreshAsync(cancellationToken)).Select(e => e.ToString()).ToList();
                var home = router.HomeRelay;
                if (!endpoints.SequenceEqual(reportedEndpoints) || home != reportedHome)
                {
                    await client.UpdateAsync(sent with { Endpoints = endpoints, HomeRelay = home, Stream = false }, cancellationToken);
                    reportedEndpoints = endpoints;
                    reportedHome = home;
                    PathLog.EndpointsReported(_logger, string.Join(' ', endpoints), home);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is IOException or System.Net.WebSockets.WebSocketException or InvalidOperationException or HttpRequestException or ObjectDisposedException)
            {
                PathLog.RefreshFailed(_logger, e.Message);
            }
        }
    }

    private static partial class PathLog
    {
        [LoggerMessage(50, LogLevel.Information, "Reported endpoints {Endpoints} and home relay region {Home} to control")]
        public static partial void EndpointsReported(ILogger logger, string endpoints, int home);

        [LoggerMessage(51, LogLevel.Warning, "Path refresh failed: {Reason}")]
        public static partial void RefreshFailed(ILogger logger, string reason);

        [LoggerMessage(52, LogLevel.Information, "This machine's addresses changed: reconnecting to the relays and control")]
        public static partial void LinkChanged(ILogger logger);
    }
}
