using System.IO.Pipelines;
using Meshwire.Core;
using Meshwire.Relay.Frames;

namespace Meshwire.Relay.Server;

// Frames from admitted connections, and where packets go. Runs on each connection's read loop; nothing here
// awaits another connection, so one slow or hostile client cannot stall another's reader.
public sealed partial class RelayServer
{
    private async Task RunConnectionAsync(RelayConnection connection, PipeReader input, CancellationToken cancellationToken)
    {
        Metrics.ConnectionOpened(connection.IsMesh);
        // Registered before ServerInfo goes out: once a client is told it is in, packets to it are deliverable.
        Register(connection);
        var info = OutboundFrame.Rent(RelayFrames.FrameLength(RelayProtocol.ServerInfoPayloadLength));
        RelayFrames.WriteServerInfo(info.Writable, _options.RateLimitBytesPerSecond, _options.RateLimitBurstBytes);
        connection.Enqueue(info);
        var writer = connection.RunWriteLoopAsync();
        var why = "closed by peer";
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(cancellationToken).ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    why = "closed by relay";
                    break;
                }

                var buffer = result.Buffer;
                var close = false;
                while (!close)
                {
                    byte[]? scratch = null;
                    var status = FrameReader.TryRead(buffer, ref scratch, out var type, out var payload, out var consumed);
                    if (status == FrameReadStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == FrameReadStatus.Oversize || !HandleFrame(connection, type, payload))
                    {
                        Metrics.Drop(RelayDropReason.BadFrame);
                        why = status == FrameReadStatus.Oversize ? "oversized frame" : "malformed frame";
                        close = true;
                    }

                    FrameReader.ReturnScratch(ref scratch);
                    buffer = buffer.Slice(consumed);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                if (close || result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            why = e.GetType().Name;
        }
        finally
        {
            Unregister(connection);
            connection.Close();
            await writer.ConfigureAwait(false);
            Metrics.ConnectionClosed(connection.IsMesh);
            Log.Closed(_logger, connection.Key, why);
        }
    }

    /// <summary>Acts on one frame; false means the client broke the protocol and is disconnected.</summary>
    private bool HandleFrame(RelayConnection from, FrameType type, ReadOnlySpan<byte> payload)
    {
        switch (type)
        {
            case FrameType.SendPacket:
                if (!RelayFrames.TryParseKeyAndPacket(payload, out var to, out var packet))
                {
                    return false;
                }

                if (!from.IsMesh && !from.TryTakeTokens(packet.Length, Now))
                {
                    Metrics.Drop(RelayDropReason.RateLimited);
                    return true;
                }

                Route(from, to, packet);
                return true;

            case FrameType.ForwardPacket:
                if (!from.IsMesh || !RelayFrames.TryParseForwardPacket(payload, out var source, out var destination, out var forwarded) || forwarded.Length > RelayProtocol.MaxPacketSize)
                {
                    return false;
                }

                DeliverLocal(source, destination, forwarded);
                return true;

            case FrameType.Ping:
                if (!RelayFrames.TryParsePing(payload, out var data))
                {
                    return false;
                }

                from.EnqueuePong(data);
                return true;

            case FrameType.NotePreferred:
                if (RelayFrames.TryParseNotePreferred(payload, out var preferred))
                {
                    from.Preferred = preferred;
                }

                return true;

            case FrameType.WatchConns:
                if (!from.IsMesh)
                {
                    return false;
                }

                StartWatching(from);
                return true;

            case FrameType.KeepAlive:
            case FrameType.Pong:
                return true;

            case FrameType.ServerKey:
            case FrameType.ClientInfo:
            case FrameType.ServerInfo:
            case FrameType.RecvPacket:
                // Frames only a server sends, or handshake frames after the handshake: a confused or hostile client.
                return false;

            default:
                // Unknown types are skipped so that newer clients can talk to older relays.
                return true;
        }
    }

    private void Route(RelayConnection from, NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        if (_clients.TryGetValue(to, out var target))
        {
            if (target.EnqueueRecvPacket(from.Key, packet))
            {
                Metrics.Relayed(packet.Length);
            }

            return;
        }

        if (!from.IsMesh && _meshRoutes.TryGetValue(to, out var link))
        {
            if (link.TryForward(from.Key, to, packet))
            {
                Metrics.Forwarded();
            }
            else
            {
                Metrics.Drop(RelayDropReason.MeshUnavailable);
            }

            return;
        }

        Metrics.Drop(RelayDropReason.UnknownDestination);
        from.EnqueuePeerGone(to, PeerGoneReason.NotHere);
    }

    private void DeliverLocal(NodePublicKey from, NodePublicKey to, ReadOnlySpan<byte> packet)
    {
        if (_clients.TryGetValue(to, out var target))
        {
            if (target.EnqueueRecvPacket(from, packet))
            {
                Metrics.Relayed(packet.Length);
            }

            return;
        }

        Metrics.Drop(RelayDropReason.UnknownDestination);
    }

    private void Register(RelayConnection connection)
    {
        if (connection.IsMesh)
        {
            return;
        }

        RelayConnection? previous = null;
        _clients.AddOrUpdate(connection.Key, connection, (_, old) =>
        {
            previous = old;
            return connection;
        });

        // The newest connection of a key wins: the old one is usually a dead socket the client has given up on.
        if (previous is not null && previous != connection)
        {
            previous.Close();
        }

        foreach (var watcher in _watchers.Keys)
        {
            watcher.EnqueuePeerPresent(connection.Key);
        }
    }

    private void Unregister(RelayConnection connection)
    {
        if (connection.IsMesh)
        {
            _watchers.TryRemove(connection, out _);
            return;
        }

        if (!_clients.TryRemove(new KeyValuePair<NodePublicKey, RelayConnection>(connection.Key, connection)))
        {
            return;
        }

        foreach (var watcher in _watchers.Keys)
        {
            watcher.EnqueuePeerGone(connection.Key, PeerGoneReason.Disconnected);
        }
    }

    // Subscribe first, then replay who is here, so no client that connects in between is missed.
    private void StartWatching(RelayConnection watcher)
    {
        _watchers[watcher] = 0;
        foreach (var key in _clients.Keys)
        {
            watcher.EnqueuePeerPresent(key);
        }
    }

    internal void MeshPeerPresent(MeshLink link, NodePublicKey node) => _meshRoutes[node] = link;

    internal void MeshPeerGone(MeshLink link, NodePublicKey node) =>
        _meshRoutes.TryRemove(new KeyValuePair<NodePublicKey, MeshLink>(node, link));

    internal void MeshLinkReset(MeshLink link)
    {
        foreach (var (key, value) in _meshRoutes)
        {
            if (value == link)
            {
                _meshRoutes.TryRemove(new KeyValuePair<NodePublicKey, MeshLink>(key, link));
            }
        }
    }

    internal void LogMeshState(Uri url, string state) => Log.MeshState(_logger, url, state);
}
