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
/// Bounds (docs/protocol.md "Limits"): each source address may open HandshakeRatePerSource upgrades (checked before
/// any DH; over it 429 with Retry-After), rekeys count against the same bucket, and the replay state of machines is
/// a bounded <see cref="HandshakeReplayTable"/>. A frame over the size limit is answered with too_large and the
/// channel closes with status 1009 and the limit in its reason.
/// </summary>
internal sealed partial class ChannelHandler(ControlService service, ServerIdentity identity, ILogger<ChannelHandler> logger)
{
    private readonly KeyedRateLimiter<SourceAddress> _handshakeLimiter = service.Options.HandshakeRatePerSource.CreateLimiter<SourceAddress>(service.Time, capacity: 65_536);

    /// <summary>Replay and flood state per machine key (whitepaper 5.1), bounded.</summary>
    internal HandshakeReplayTable Replay { get; init; } = new();

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsJsonAsync(new Api.ApiError(ErrorCodes.BadRequest, "the control channel is a WebSocket upgrade"));
            return;
        }

        var source = SourceAddress.Of(context.Connection.RemoteIpAddress);
        if (!_handshakeLimiter.TryTake(source, MonotonicClock.Now(service.Time), out var retryAfter))
        {
            var seconds = RetrySeconds(retryAfter);
            Log.HandshakeRateLimited(logger, source.ToString(), seconds);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await context.Response.WriteAsJsonAsync(new Api.ApiError(ErrorCodes.RateLimited, $"too many control channel handshakes from this address; retry after {seconds} s"));
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
            var refused = await RunAsync(frames, session.Value.Machine, source, keysExpire, lifetime.Token);
            if (refused is { } close)
            {
                await CloseAsync(socket, close.Status, close.Reason);
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
    internal MachinePublicKey? Respond(ReadOnlySpan<byte> initiation, MachinePublicKey? expected, uint localIndexInUse, Span<byte> response, out SessionKeys keys)
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

        if (LowOrderPoints.Contains(machine.Value))
        {
            // The handshake's DH(S_r, S_i) already fails for these; said here so the reason is logged as what it is.
            Log.HandshakeRejected(logger, "low-order machine key");
            return null;
        }

        var now = MonotonicClock.Now(service.Time);
        if (!Replay.TryAccept(machine, consumed.Timestamp, now))
        {
            Log.HandshakeRejected(logger, "replayed or flooding initiation");
            return null;
        }

        uint index;
        do
        {
            index = (uint)Random.Shared.Next(1, int.MaxValue);
        }
        while (index == localIndexInUse);

        // The replay state lives in the table; this Handshake only carries one exchange and is dropped after it.
        var handshake = new Handshake(identity.Local, new NodePublicKey(machine.Value), PresharedKey.None);
        if (!handshake.TryAccept(consumed, now) || !handshake.TryCreateResponse(index, now, response, out keys))
        {
            Log.HandshakeRejected(logger, "the response could not be computed");
            return null;
        }

        return machine;
    }

    /// <summary>
    /// Serves the channel's frames; returns how to close the channel when it must end early (a failed or
    /// rate-limited rekey, a forged frame, a frame over the limit), or null when it ended normally.
    /// </summary>
    private async Task<(WebSocketCloseStatus Status, string Reason)?> RunAsync(
        SecureFrames frames, MachinePublicKey machine, SourceAddress source, ITimer keysExpire, CancellationToken cancellationToken)
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
                    if (!_handshakeLimiter.TryTake(source, MonotonicClock.Now(service.Time), out var wait))
                    {
                        return (WebSocketCloseStatus.PolicyViolation, $"{ErrorCodes.RateLimited}: too many handshakes; retry after {RetrySeconds(wait)} s");
                    }

                    var response = new byte[MessageSize.Response];
                    if (Respond(frame.Handshake.Span, machine, frames.LocalIndex, response, out var keys) is null)
                    {
                        return (WebSocketCloseStatus.PolicyViolation, "rekey refused");
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
                    if (error == ErrorCodes.TooLarge)
                    {
                        // The rest of the oversized message was never read, so the channel cannot go on; the close
                        // says why (a WebSocket close reason holds at most 123 bytes).
                        return (WebSocketCloseStatus.MessageTooBig, $"{ErrorCodes.TooLarge}: a message may be at most {service.Options.MaxRequestBytes} bytes");
                    }

                    if (error == ErrorCodes.Unauthorized)
                    {
                        return (WebSocketCloseStatus.PolicyViolation, $"{ErrorCodes.Unauthorized}: {frame.Detail}");
                    }

                    continue;
                }

                try
                {
                    if (RequestChecks.Check(message) is { } invalid)
                    {
                        throw new ControlException(ErrorCodes.BadRequest, invalid);
                    }

                    switch (message)
                    {
                        case RegisterRequest register:
                            CheckNodeKey(machine, register);
                            var registered = await service.RegisterAsync(machine, register, source.Address, cancellationToken);
                            if (registered.Authorized || registered.NeedsApproval)
                            {
                                Replay.Promote(machine);
                            }

                            await frames.SendAsync(registered, cancellationToken);
                            if (registered.AuthUrl is not null && loginWait is not { IsCompleted: false } && service.Logins.ForMachine(machine) is { } pending)
                            {
                                loginWait = PushLoginResultAsync(frames, pending, streamStop.Token);
                            }

                            break;
                        case MapRequest map:
                            if (LowOrderPoints.Contains(map.DiscoKey.Value))
                            {
                                throw new ControlException(ErrorCodes.WeakKey, "the disco key is a low-order point");
                            }

                            var nodeId = await service.UpdateFromMapRequestAsync(machine, map, cancellationToken);
                            Replay.Promote(machine);
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
                    await frames.SendAsync(
                        new ErrorMessage { Code = e.Code, Message = e.Message, RetryAfterSeconds = e.RetryAfter is { } retry ? RetrySeconds(retry) : null },
                        cancellationToken);
                }
                catch (Exception e) when (e is not (OperationCanceledException or WebSocketException or ObjectDisposedException))
                {
                    // A bug in handling one request must not take the node's channel (and its stream) down with it:
                    // nothing was written (every change is one transaction), so the node may go on.
                    Log.RequestFailed(logger, message?.GetType().Name ?? "frame", e);
                    await frames.SendAsync(new ErrorMessage { Code = ErrorCodes.Internal, Message = "the server failed to handle this request; nothing was changed" }, cancellationToken);
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

    /// <summary>Whole seconds to wait, at least 1 (what Retry-After and ErrorMessage.RetryAfterSeconds carry).</summary>
    private static int RetrySeconds(TimeSpan wait) => (int)Math.Clamp(Math.Ceiling(wait.TotalSeconds), 1, int.MaxValue);

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "control handshake rejected: {Reason}")]
        public static partial void HandshakeRejected(ILogger logger, string reason);

        [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "control handshakes from {Source} rate limited; retry after {Seconds} s")]
        public static partial void HandshakeRateLimited(ILogger logger, string source, int seconds);

        [LoggerMessage(EventId = 102, Level = LogLevel.Error, Message = "control channel request {Request} failed")]
        public static partial void RequestFailed(ILogger logger, string request, Exception exception);
    }
}
