using System.Collections.Concurrent;
using System.Net.WebSockets;
using Meshwire.Control.State;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Meshwire.Control.Channel;

/// <summary>
/// Server side of one control channel.
/// Flow: WebSocket upgrade → the client's 148-byte handshake initiation (static key = its machine key) → MAC1
/// check, decrypt, replay check per machine key → 92-byte response → from then on sealed frames (SecureFrames).
/// Frames from the node: register (answered with register-result or error) and map (answered with map-full; with
/// stream=true the channel then carries map-delta and keepalive messages until it ends). Errors in a request are
/// answered with an error message and change nothing; frames that fail authentication end the channel.
/// Rekey: a handshake initiation on the open channel from the same machine key is answered with a response, and
/// the channel then seals with the new keys (SecureFrames keeps the old ones for receiving until the node switches).
/// The channel ends ChannelLifetime after its last handshake; an initiation that fails any check ends it at once.
/// </summary>
internal sealed partial class ChannelHandler(ControlService service, ServerIdentity identity, ILogger<ChannelHandler> logger)
{
    // One Handshake per machine key keeps the greatest TAI64N timestamp seen, so a recorded initiation cannot be
    // replayed to open a second channel (whitepaper 5.1). Bounded: cleared when it grows past the limit.
    private readonly ConcurrentDictionary<MachinePublicKey, Handshake> _handshakes = new();
    private const int MaxRememberedMachines = 200_000;

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsJsonAsync(new Api.ApiError(ErrorCodes.BadRequest, "the control channel is a WebSocket upgrade"));
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = context.WebSockets.WebSocketRequestedProtocols.Contains(ChannelConstants.SubProtocol) ? ChannelConstants.SubProtocol : null,
            KeepAliveInterval = TimeSpan.Zero,
        });
        var stopping = context.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);

        // Keys age out: the channel ends ChannelLifetime after its last handshake (on the service clock); a rekey
        // moves the deadline.
        using var keysExpire = service.Time.CreateTimer(static state => CancelQuietly((CancellationTokenSource)state!), lifetime, ChannelConstants.ChannelLifetime, Timeout.InfiniteTimeSpan);
        try
        {
            var session = await HandshakeAsync(socket, lifetime.Token);
            if (session is null)
            {
                await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, "handshake failed");
                return;
            }

            using var frames = new SecureFrames(socket, session.Value.Keys, service.Time, service.Options.MaxRequestBytes);
            var refused = await RunAsync(frames, session.Value.Machine, keysExpire, lifetime.Token);
            if (refused is not null)
            {
                await CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, refused);
                return;
            }

            await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "channel lifetime reached; reconnect");
        }
        catch (OperationCanceledException)
        {
            await CloseAsync(socket, WebSocketCloseStatus.NormalClosure, "channel lifetime reached; reconnect");
        }
        catch (WebSocketException)
        {
            // The node went away.
        }
    }

    private static void CancelQuietly(CancellationTokenSource source)
    {
        // Not Cancel(): a fake clock fires timers on the thread that advances it, and cancellation callbacks must
        // not run there.
        try
        {
            _ = source.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // The channel ended first.
        }
    }

    private async Task<(MachinePublicKey Machine, SessionKeys Keys)?> HandshakeAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ChannelConstants.HandshakeTimeout);
        var buffer = new byte[MessageSize.Initiation + 1];
        var total = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(total), timeout.Token);
            if (result.MessageType != WebSocketMessageType.Binary)
            {
                return null;
            }

            total += result.Count;
            if (result.EndOfMessage)
            {
                break;
            }

            if (total >= buffer.Length)
            {
                return null;
            }
        }

        var response = new byte[MessageSize.Response];
        var machine = Respond(buffer.AsSpan(0, total), expected: null, localIndexInUse: 0, response, out var keys);
        if (machine is null)
        {
            return null;
        }

        await socket.SendAsync(response, WebSocketMessageType.Binary, true, cancellationToken);
        return (machine.Value, keys);
    }

    /// <summary>
    /// Checks an initiation (size, MAC1, decryption, for a rekey the channel's machine key, then the replay and rate
    /// rules of that machine's handshake) and writes the response. Returns the initiator's machine key, or null.
    /// </summary>
    private MachinePublicKey? Respond(ReadOnlySpan<byte> initiation, MachinePublicKey? expected, uint localIndexInUse, Span<byte> response, out SessionKeys keys)
    {
        keys = default;
        if (initiation.Length != MessageSize.Initiation || initiation[0] != MessageType.Initiation
            || !identity.Cookies.CheckMac1(initiation) || !InitiationReader.TryConsume(identity.Local, initiation, out var consumed))
        {
            Log.HandshakeRejected(logger, "bad initiation");
            return null;
        }

        var machine = new MachinePublicKey(consumed!.InitiatorStatic.Value);
        if (expected is { } channelMachine && machine != channelMachine)
        {
            Log.HandshakeRejected(logger, "rekey with another machine key");
            return null;
        }

        if (_handshakes.Count > MaxRememberedMachines)
        {
            _handshakes.Clear();
        }

        var handshake = _handshakes.GetOrAdd(machine, m => new Handshake(identity.Local, new NodePublicKey(m.Value), PresharedKey.None));
        uint index;
        do
        {
            index = (uint)Random.Shared.Next(1, int.MaxValue);
        }
        while (index == localIndexInUse);

        lock (handshake)
        {
            var now = MonotonicClock.Now(service.Time);
            if (!handshake.TryAccept(consumed, now) || !handshake.TryCreateResponse(index, now, response, out keys))
            {
                Log.HandshakeRejected(logger, "replayed or flooding initiation");
                return null;
            }
        }

        return machine;
    }

    /// <summary>Serves the channel's frames; returns why the channel is refused (a failed rekey), or null.</summary>
    private async Task<string?> RunAsync(SecureFrames frames, MachinePublicKey machine, ITimer keysExpire, CancellationToken cancellationToken)
    {
        Task? streaming = null;
        Task? loginWait = null;
        using var streamStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var frame = await frames.ReceiveAsync(cancellationToken);
                if (frame.IsClosed)
                {
                    return null;
                }

                if (!frame.Handshake.IsEmpty)
                {
                    // Rekey in place: answer, switch our sending keys, and count the keys' age from now.
                    var response = new byte[MessageSize.Response];
                    if (Respond(frame.Handshake.Span, machine, frames.LocalIndex, response, out var keys) is null)
                    {
                        return "rekey refused";
                    }

                    // The deadline moves before the response leaves: once the node has the new keys, the old deadline
                    // must not close the channel.
                    keysExpire.Change(ChannelConstants.ChannelLifetime, Timeout.InfiniteTimeSpan);
                    await frames.InstallAsync(keys, response, cancellationToken);
                    continue;
                }

                var message = frame.Message;
                if (frame.Error is { } error)
                {
                    await frames.SendAsync(new ErrorMessage { Code = error, Message = frame.Detail ?? error }, cancellationToken);
                    if (error == ErrorCodes.Unauthorized || error == ErrorCodes.TooLarge)
                    {
                        return null;
                    }

                    continue;
                }

                try
                {
                    switch (message)
                    {
                        case RegisterRequest register:
                            var registered = await service.RegisterAsync(machine, register, cancellationToken);
                            await frames.SendAsync(registered, cancellationToken);
                            if (registered.AuthUrl is not null && loginWait is not { IsCompleted: false } && service.Logins.ForMachine(machine) is { } pending)
                            {
                                loginWait = PushLoginResultAsync(frames, pending, streamStop.Token);
                            }

                            break;
                        case MapRequest map:
                            var nodeId = await service.UpdateFromMapRequestAsync(machine, map, cancellationToken);
                            if (streaming is not null)
                            {
                                // Endpoint updates on an open stream come back as a self delta.
                                break;
                            }

                            if (!map.Stream)
                            {
                                var full = service.Tailnet.FullMap(nodeId, (int)service.Options.KeepAliveInterval.TotalSeconds)
                                    ?? throw new ControlException(ErrorCodes.NodeKeyExpired, "the node is not active");
                                await frames.SendAsync(full, cancellationToken);
                                break;
                            }

                            streaming = StreamAsync(frames, nodeId, streamStop.Token);
                            break;
                        default:
                            await frames.SendAsync(new ErrorMessage { Code = ErrorCodes.BadRequest, Message = "nodes send only register and map messages" }, cancellationToken);
                            break;
                    }
                }
                catch (ControlException e)
                {
                    await frames.SendAsync(new ErrorMessage { Code = e.Code, Message = e.Message }, cancellationToken);
                }
            }

            return null;
        }
        finally
        {
            await streamStop.CancelAsync();
            foreach (var task in new[] { streaming, loginWait })
            {
                if (task is not null)
                {
                    try
                    {
                        await task;
                    }
                    catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
                    {
                        // Ended with the channel.
                    }
                }
            }
        }
    }

    /// <summary>
    /// A node that got an authUrl waits on its channel: when the browser login completes, the register-result is
    /// pushed unasked. A login replaced by a newer one (another node key) or a channel that ends stops the wait; the
    /// node then registers again.
    /// </summary>
    private static async Task PushLoginResultAsync(SecureFrames frames, Identity.PendingLogin pending, CancellationToken cancellationToken)
    {
        RegisterResult result;
        try
        {
            result = await pending.Completion.Task.WaitAsync(cancellationToken);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return;
        }

        await frames.SendAsync(result, cancellationToken);
    }

    private async Task StreamAsync(SecureFrames frames, string nodeId, CancellationToken cancellationToken)
    {
        var stream = new MapStream(nodeId);
        var keepAlive = service.Options.KeepAliveInterval;
        var full = service.Tailnet.Subscribe(stream, (int)keepAlive.TotalSeconds);
        if (full is null)
        {
            await frames.SendAsync(new ErrorMessage { Code = ErrorCodes.NodeKeyExpired, Message = "the node is not active" }, cancellationToken);
            return;
        }

        try
        {
            await service.SetOnlineAsync(nodeId, true);
            long seq = 0;
            await frames.SendAsync(full with { Seq = seq }, cancellationToken);
            while (!cancellationToken.IsCancellationRequested)
            {
                var woken = await stream.WaitAsync(keepAlive, cancellationToken);
                if (stream.IsClosed)
                {
                    await frames.SendAsync(new ErrorMessage { Code = ErrorCodes.NodeKeyExpired, Message = stream.CloseReason ?? "stream closed" }, cancellationToken);
                    await CloseAsync(frames.Socket, WebSocketCloseStatus.NormalClosure, stream.CloseReason ?? "closed");
                    return;
                }

                if (woken && stream.Drain(seq + 1) is { } delta)
                {
                    seq++;
                    await frames.SendAsync(delta, cancellationToken);
                }
                else if (!woken)
                {
                    seq++;
                    await frames.SendAsync(new KeepAlive { Seq = seq }, cancellationToken);
                }
            }
        }
        finally
        {
            service.Tailnet.Unsubscribe(stream);
            await service.SetOnlineAsync(nodeId, false);
            await service.OnStreamClosedAsync(nodeId);
        }
    }

    private static async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, string reason)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.CloseOutputAsync(status, reason, timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
                // Best effort.
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "control handshake rejected: {Reason}")]
        public static partial void HandshakeRejected(ILogger logger, string reason);
    }
}
