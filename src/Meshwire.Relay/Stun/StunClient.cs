using System.Net;
using System.Net.Sockets;
using Meshwire.Core;

namespace Meshwire.Relay.Stun;

/// <summary>Asks a STUN server which address and port it sees this socket as (the NAT's mapping).</summary>
public static class StunClient
{
    /// <summary>
    /// Sends Binding requests from <paramref name="socket"/> (retransmitting after 500 ms, 1 s, 2 s as in
    /// RFC 8489 section 6.2.1, shortened) and returns the mapped address, or null when no answer came in time.
    /// </summary>
    public static async Task<EndpointAddress?> QueryAsync(Socket socket, IPEndPoint server, TimeSpan timeout, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        timeProvider ??= TimeProvider.System;
        var transaction = StunTransactionId.NewRandom();
        var request = new byte[StunMessage.HeaderLength + 8];
        var requestLength = StunMessage.WriteBindingRequest(request, transaction);
        var receive = new byte[1500];
        using var overall = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, overall.Token);
        var rto = TimeSpan.FromMilliseconds(500);
        try
        {
            while (true)
            {
                await socket.SendToAsync(request.AsMemory(0, requestLength), SocketFlags.None, server, linked.Token).ConfigureAwait(false);
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
                attempt.CancelAfter(rto);
                try
                {
                    while (true)
                    {
                        var result = await socket.ReceiveFromAsync(receive, SocketFlags.None, new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0), attempt.Token).ConfigureAwait(false);
                        var status = StunMessage.TryReadBindingResponse(receive.AsSpan(0, result.ReceivedBytes), transaction, out var mapped);
                        if (status == StunReadStatus.Ok)
                        {
                            return mapped;
                        }
                    }
                }
                catch (OperationCanceledException) when (!linked.IsCancellationRequested)
                {
                    rto *= 2;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Convenience: a fresh ephemeral UDP socket for one query.</summary>
    public static async Task<EndpointAddress?> QueryAsync(IPEndPoint server, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(server.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0));
        return await QueryAsync(socket, server, timeout, null, cancellationToken).ConfigureAwait(false);
    }
}
