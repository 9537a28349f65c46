using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Meshwire.Control.Channel;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Client;

/// <summary>A request the server refused: <see cref="Code"/> is one of <see cref="ErrorCodes"/>.</summary>
public sealed class ControlProtocolException(string code, string message) : Exception($"{code}: {message}")
{
    public string Code { get; } = code;

    /// <summary>With <see cref="ErrorCodes.RateLimited"/>: how long the server asked to wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>
/// A node's end of the control channel (what meshwired uses). Connect with the machine's private key; the
/// server's machine key is pinned when given, else fetched from GET /control/v1/key (trust on first use: the
/// caller should store it). One request at a time; after <see cref="StreamMapAsync"/> starts, the channel carries
/// the stream and further <see cref="UpdateAsync"/> calls only send.
/// The channel's keys are renewed in place: after <see cref="ChannelConstants.RekeyAfterTime"/> (on the given
/// TimeProvider) the client sends a new handshake initiation on the channel and switches its keys when whoever is
/// reading (a request, <see cref="WaitForLoginAsync"/> or the stream) meets the response, so a stream goes on without
/// a new full map. A channel idle for longer than <see cref="ChannelConstants.ChannelLifetime"/> after a rekey started
/// (nobody reading the response) is closed by the server; the caller then reconnects.
/// </summary>
public sealed class ControlClient : IAsyncDisposable
{
    private readonly ClientWebSocket _socket;
    private readonly SecureFrames _frames;

    // The handshake of the channel, kept for rekeys; guarded by locking it (the timer creates initiations, the reader
    // consumes responses).
    private readonly Handshake _handshake;
    private readonly TimeProvider _time;
    private readonly ITimer _rekeyTimer;

    private ControlClient(ClientWebSocket socket, SecureFrames frames, Handshake handshake, TimeProvider time, MachinePublicKey serverKey, MachinePublicKey machineKey)
    {
        _socket = socket;
        _frames = frames;
        _handshake = handshake;
        _time = time;
        ServerKey = serverKey;
        MachineKey = machineKey;
        _rekeyTimer = time.CreateTimer(static state => ((ControlClient)state!).OnRekeyDue(), this, ChannelConstants.RekeyAfterTime, Timeout.InfiniteTimeSpan);
    }

    /// <summary>How many times the channel's keys were renewed.</summary>
    internal int KeyGeneration => _frames.Generation;

    internal SecureFrames Frames => _frames;

    public MachinePublicKey ServerKey { get; }

    public MachinePublicKey MachineKey { get; }

    /// <summary>Fetches the server's machine key (GET /control/v1/key).</summary>
    public static async Task<MachinePublicKey> FetchServerKeyAsync(Uri server, HttpClient? http = null, CancellationToken cancellationToken = default)
    {
        var owned = http is null;
        http ??= new HttpClient();
        try
        {
            var info = await http.GetFromJsonAsync(new Uri(server, ChannelConstants.KeyPath), ProtocolJsonContext.Default.ServerKeyInfo, cancellationToken)
                ?? throw new ControlProtocolException(ErrorCodes.BadRequest, "empty key answer");
            return info.MachineKey;
        }
        finally
        {
            if (owned)
            {
                http.Dispose();
            }
        }
    }

    /// <summary>Generates a machine key (X25519, clamped).</summary>
    public static MachinePrivateKey GenerateMachineKey() => new(X25519Keys.GeneratePrivateKey().Value);

    public static MachinePublicKey PublicKeyOf(MachinePrivateKey key) => new(X25519Keys.PublicKeyOf(new NodePrivateKey(key.Value)).Value);

    /// <summary>Opens the channel: WebSocket upgrade, then the Noise IK handshake with the machine keys.</summary>
    public static async Task<ControlClient> ConnectAsync(
        Uri server, MachinePrivateKey machineKey, MachinePublicKey? serverKey = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= TimeProvider.System;
        var pinned = serverKey ?? await FetchServerKeyAsync(server, cancellationToken: cancellationToken);
        var socket = new ClientWebSocket();
        try
        {
            socket.Options.AddSubProtocol(ChannelConstants.SubProtocol);
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            socket.Options.CollectHttpResponseDetails = true;
            var builder = new UriBuilder(new Uri(server, ChannelConstants.ChannelPath)) { Scheme = server.Scheme == "https" ? "wss" : "ws" };
            try
            {
                await socket.ConnectAsync(builder.Uri, cancellationToken);
            }
            catch (WebSocketException) when (socket.HttpStatusCode == System.Net.HttpStatusCode.TooManyRequests)
            {
                // The server limits handshakes per source address (before any DH) and says when to come back.
                var retry = socket.HttpResponseHeaders?.TryGetValue("Retry-After", out var values) == true
                    && int.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                    ? TimeSpan.FromSeconds(Math.Max(1, seconds)) : TimeSpan.FromSeconds(10);
                throw new ControlProtocolException(ErrorCodes.RateLimited, $"too many control channel handshakes from this address; retry after {retry.TotalSeconds} s") { RetryAfter = retry };
            }

            var local = new LocalIdentity(new NodePrivateKey(machineKey.Value));
            var handshake = new Handshake(local, new NodePublicKey(pinned.Value), PresharedKey.None);
            var initiation = new byte[MessageSize.Initiation];
            var now = MonotonicClock.Now(time);
            if (!handshake.TryCreateInitiation((uint)Random.Shared.Next(1, int.MaxValue), time.GetUtcNow(), now, initiation))
            {
                throw new ControlProtocolException(ErrorCodes.BadRequest, "cannot create a handshake initiation (is the server key valid?)");
            }

            await socket.SendAsync(initiation, WebSocketMessageType.Binary, true, cancellationToken);
            var response = new byte[MessageSize.Response + 1];
            var result = await socket.ReceiveAsync(response, cancellationToken);
            if (result.MessageType != WebSocketMessageType.Binary || !result.EndOfMessage || result.Count != MessageSize.Response
                || !handshake.TryConsumeResponse(response.AsSpan(0, MessageSize.Response), out var keys))
            {
                throw new ControlProtocolException(ErrorCodes.Unauthorized, "the server did not complete the handshake (wrong server key?)");
            }

            var frames = new SecureFrames(socket, keys, time, ChannelConstants.MaxServerMessage);
            return new ControlClient(socket, frames, handshake, time, pinned, new MachinePublicKey(local.PublicKey.Value));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Longest wait <see cref="RegisterAsync"/> accepts from a rate_limited answer before giving up.</summary>
    public static readonly TimeSpan MaxRegisterBackoff = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Registers the node key (with an auth key, or to get a login URL), proving possession of
    /// <paramref name="nodeKey"/> (docs/protocol.md "Node key proof"): the request's NodeKey is set to its public half.
    /// A rate_limited answer is retried after the server's hint plus up to a quarter of it as jitter (so nodes limited
    /// together do not return together), on the client's TimeProvider, while the total wait stays under
    /// <see cref="MaxRegisterBackoff"/>; then, and on any other refusal, this throws.
    /// </summary>
    public async Task<RegisterResult> RegisterAsync(RegisterRequest request, NodePrivateKey nodeKey, CancellationToken cancellationToken = default)
    {
        var nodePublic = X25519Keys.PublicKeyOf(nodeKey);
        var proven = request with { NodeKey = nodePublic, NodeKeyProof = NodeKeyProof.Create(nodeKey, MachineKey, ServerKey) };
        var waited = TimeSpan.Zero;
        while (true)
        {
            try
            {
                return await SendRegisterAsync(proven, cancellationToken);
            }
            catch (ControlProtocolException e) when (e.Code == ErrorCodes.RateLimited && e.RetryAfter is { } hint && waited + hint <= MaxRegisterBackoff)
            {
                var wait = hint + (hint / 4 * Random.Shared.NextDouble());
                waited += wait;
                await Task.Delay(wait, _time, cancellationToken);
            }
        }
    }

    /// <summary>Sends a register message as given (no proof added) and reads the answer; tests send bad ones.</summary>
    internal async Task<RegisterResult> SendRegisterAsync(RegisterRequest request, CancellationToken cancellationToken = default)
    {
        await _frames.SendAsync(request, cancellationToken);
        return Expect<RegisterResult>(await ReceiveAsync(cancellationToken));
    }

    /// <summary>
    /// After <see cref="RegisterAsync"/> returned an <see cref="RegisterResult.AuthUrl"/>: waits until the user has
    /// logged in through that URL and returns the register-result the server then pushes (authorized, or needing
    /// approval). Nothing else may be sent on the channel meanwhile (rekeys go on: this read meets their responses).
    /// If the channel ends first, this throws; reconnect and register again: the server answers
    /// with the same URL while the login is pending, or with the node once it completed.
    /// </summary>
    public async Task<RegisterResult> WaitForLoginAsync(CancellationToken cancellationToken = default) =>
        Expect<RegisterResult>(await ReceiveAsync(cancellationToken));

    /// <summary>One full map (no stream). Also records the node's disco key, endpoints and home relay.</summary>
    public async Task<MapFull> GetMapAsync(MapRequest request, CancellationToken cancellationToken = default)
    {
        await _frames.SendAsync(request with { Stream = false }, cancellationToken);
        return Expect<MapFull>(await ReceiveAsync(cancellationToken));
    }

    /// <summary>
    /// Opens the map stream: yields a <see cref="MapFull"/>, then <see cref="MapDelta"/> and <see cref="KeepAlive"/>
    /// messages in order until the channel ends. An error from the server ends the stream with an exception.
    /// </summary>
    public async IAsyncEnumerable<ControlMessage> StreamMapAsync(MapRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _frames.SendAsync(request with { Stream = true }, cancellationToken);
        while (true)
        {
            ControlMessage? message;
            try
            {
                message = await ReceiveAsync(cancellationToken);
            }
            catch (WebSocketException)
            {
                yield break;
            }

            if (message is null)
            {
                yield break;
            }

            if (message is ErrorMessage error)
            {
                throw new ControlProtocolException(error.Code, error.Message);
            }

            yield return message;
        }
    }

    /// <summary>Sends new endpoints / home relay on an open stream; the change comes back as a self delta.</summary>
    public Task UpdateAsync(MapRequest request, CancellationToken cancellationToken = default) =>
        _frames.SendAsync(request with { Stream = false }, cancellationToken);

    /// <summary>Logs the node out: its key leaves every peer's map.</summary>
    public Task<RegisterResult> LogoutAsync(NodePublicKey nodeKey, string hostname, CancellationToken cancellationToken = default) =>
        SendRegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = hostname, Logout = true }, cancellationToken);

    /// <summary>
    /// Sends a new handshake initiation on the open channel (what the rekey timer does). The keys switch when a
    /// reader meets the server's response.
    /// </summary>
    internal async Task RekeyAsync(CancellationToken cancellationToken = default)
    {
        var initiation = new byte[MessageSize.Initiation];
        lock (_handshake)
        {
            uint index;
            do
            {
                index = (uint)Random.Shared.Next(1, int.MaxValue);
            }
            while (index == _frames.LocalIndex);

            if (!_handshake.TryCreateInitiation(index, _time.GetUtcNow(), MonotonicClock.Now(_time), initiation))
            {
                throw new ControlProtocolException(ErrorCodes.BadRequest, "cannot create a handshake initiation");
            }
        }

        await _frames.SendHandshakeAsync(initiation, cancellationToken);
    }

    private void OnRekeyDue() => _ = Task.Run(async () =>
    {
        try
        {
            await RekeyAsync();
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or ControlProtocolException)
        {
            // The channel is gone or going; the server closes one whose keys age out and the caller reconnects.
        }
    });

    private async Task<ControlMessage?> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var frame = await _frames.ReceiveAsync(cancellationToken);
            if (frame.Error is not null)
            {
                throw new ControlProtocolException(frame.Error, frame.Detail ?? frame.Error);
            }

            if (frame.Handshake.IsEmpty)
            {
                return frame.Message;
            }

            SessionKeys keys = default;
            var consumed = false;
            lock (_handshake)
            {
                consumed = frame.Handshake.Length == MessageSize.Response && frame.Handshake.Span[0] == MessageType.Response
                    && _handshake.TryConsumeResponse(frame.Handshake.Span, out keys);
            }

            if (!consumed)
            {
                throw new ControlProtocolException(ErrorCodes.Unauthorized, "the server sent a handshake message that answers no rekey of ours");
            }

            await _frames.InstallAsync(keys, ReadOnlyMemory<byte>.Empty, cancellationToken);
            _rekeyTimer.Change(ChannelConstants.RekeyAfterTime, Timeout.InfiniteTimeSpan);
        }
    }

    private static T Expect<T>(ControlMessage? message)
        where T : ControlMessage => message switch
        {
            T wanted => wanted,
            ErrorMessage error => throw new ControlProtocolException(error.Code, error.Message)
            {
                RetryAfter = error.RetryAfterSeconds is { } seconds ? TimeSpan.FromSeconds(Math.Max(1, seconds)) : null,
            },
            null => throw new ControlProtocolException(ErrorCodes.BadRequest, "the server closed the channel"),
            _ => throw new ControlProtocolException(ErrorCodes.BadRequest, $"unexpected {message.GetType().Name}"),
        };

    public async ValueTask DisposeAsync()
    {
        _rekeyTimer.Dispose();
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // Best effort.
            }
        }

        _frames.Dispose();
        _socket.Dispose();
    }
}
