using System.Net;
using System.Net.Sockets;
using Meshwire.Core;
using Microsoft.Extensions.Logging;

namespace Meshwire.Relay.Stun;

/// <summary>
/// UDP driver for the STUN Binding server: one socket, one receive loop, answers written from a single buffer.
/// Every request is answered with the source address it came from; nothing is kept between datagrams.
/// </summary>
public sealed partial class StunServer : IDisposable
{
    private readonly Socket _socket;
    private readonly ILogger _logger;
    private long _requests;
    private long _ignored;

    public StunServer(IPEndPoint listen, ILogger? logger = null)
    {
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _socket = new Socket(listen.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        if (listen.AddressFamily == AddressFamily.InterNetworkV6)
        {
            _socket.DualMode = true;
        }

        _socket.Bind(listen);
    }

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public long Requests => Interlocked.Read(ref _requests);

    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Answers Binding requests until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var receive = new byte[1500];
        var send = new byte[StunMessage.MaxResponseLength];
        EndPoint any = _socket.AddressFamily == AddressFamily.InterNetworkV6 ? new IPEndPoint(IPAddress.IPv6Any, 0) : new IPEndPoint(IPAddress.Any, 0);
        Log.Listening(_logger, LocalEndPoint);
        while (!cancellationToken.IsCancellationRequested)
        {
            SocketReceiveFromResult result;
            try
            {
                result = await _socket.ReceiveFromAsync(receive, SocketFlags.None, any, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                // ICMP errors from earlier answers surface here on Linux; they concern one client only.
                continue;
            }

            var source = (IPEndPoint)result.RemoteEndPoint;
            var length = Answer(receive.AsSpan(0, result.ReceivedBytes), EndpointAddress.FromIPEndPoint(source), send);
            if (length == 0)
            {
                Interlocked.Increment(ref _ignored);
                continue;
            }

            Interlocked.Increment(ref _requests);
            try
            {
                await _socket.SendToAsync(send.AsMemory(0, length), SocketFlags.None, source, cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The sans-I/O step: a datagram and its source in, a response (or 0 = ignore) out.</summary>
    public static int Answer(ReadOnlySpan<byte> datagram, EndpointAddress source, Span<byte> response)
    {
        if (StunMessage.TryReadBindingRequest(datagram, out var transaction) != StunReadStatus.Ok)
        {
            return 0;
        }

        // Answer IPv4 clients on a dual-stack socket as IPv4: ::ffff:a.b.c.d is how the kernel reports them.
        return StunMessage.WriteBindingResponse(response, transaction, source);
    }

    public void Dispose() => _socket.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "STUN server listening on udp {EndPoint}")]
        public static partial void Listening(ILogger logger, IPEndPoint endPoint);
    }
}
