using Meshwire.Core;
using Microsoft.Extensions.Logging;

namespace Meshwire.Relay.Server;

// This relay's connection to one other relay of the region, as a mesh client. It learns which node keys
// the other relay has (PeerPresent/PeerGone) and carries ForwardPackets there. On every (re)connect the
// other relay replays its presence, so routes learned through this link are dropped first.
internal sealed class MeshLink : IAsyncDisposable
{
    private readonly RelayServer _server;
    private readonly RelayClient _client;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public MeshLink(RelayServer server, Uri url, NodePrivateKey identity, RelayClientOptions options, ILogger logger)
    {
        _server = server;
        _client = new RelayClient(url, identity, options);
    }

    public Uri Url => _client.Url;

    public void Start() => _loop = Task.Run(RunAsync);

    public bool TryForward(NodePublicKey from, NodePublicKey to, ReadOnlySpan<byte> packet) => _client.TryForward(from, to, packet);

    private async Task RunAsync()
    {
        var buffer = new byte[64];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var message = await _client.ReceiveAsync(buffer, _stop.Token).ConfigureAwait(false);
                switch (message.Kind)
                {
                    case RelayMessageKind.Connected:
                        _server.MeshLinkReset(this);
                        if (_client.ServerKey == _server.PublicKey)
                        {
                            // --mesh-with may list every relay of the region, this one included.
                            _server.LogMeshState(Url, "this is ourselves, link stopped");
                            return;
                        }

                        _server.LogMeshState(Url, "connected");
                        break;
                    case RelayMessageKind.Disconnected:
                        _server.MeshLinkReset(this);
                        _server.LogMeshState(Url, "disconnected");
                        break;
                    case RelayMessageKind.PeerPresent:
                        _server.MeshPeerPresent(this, message.Peer);
                        break;
                    case RelayMessageKind.PeerGone:
                        _server.MeshPeerGone(this, message.Peer);
                        break;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _server.MeshLinkReset(this);
        await _client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
