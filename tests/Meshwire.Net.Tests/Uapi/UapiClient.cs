using System.Net.Sockets;
using System.Text;
using Meshwire.Net.Uapi;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>A raw client of the UAPI socket for tests: sends bytes as given and reads responses up to their blank line.</summary>
internal sealed class UapiClient : IDisposable
{
    private readonly StringBuilder _received = new();

    private UapiClient(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    public static async Task<UapiClient> ConnectAsync(UapiServer server)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath));
        return new UapiClient(socket);
    }

    public void Dispose() => Socket.Dispose();

    public async Task<string> ExchangeAsync(string request)
    {
        await SendAsync(request);
        return await ReadResponseAsync();
    }

    /// <param name="tolerateClose">The server may close while the request is still being sent (it refused it early).</param>
    public async Task SendAsync(string request, bool tolerateClose = false)
    {
        var sent = await TrySendAsync(Encoding.ASCII.GetBytes(request));
        Assert.True(sent || tolerateClose, "the server closed the connection while the request was being sent");
    }

    /// <summary>Sends all of <paramref name="bytes"/>; false when the server has closed the connection.</summary>
    public async Task<bool> TrySendAsync(byte[] bytes)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Socket.SendAsync(bytes, SocketFlags.None, timeout.Token);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return false;
        }
    }

    /// <summary>
    /// The next response, through the blank line that ends it; what arrived before the server closed when it closed
    /// first (empty: closed without an answer). A server that closes with unsent request bytes in its queue resets
    /// the connection after its answer; that counts as closed.
    /// </summary>
    public async Task<string> ReadResponseAsync()
    {
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var text = _received.ToString();
            var end = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                _received.Remove(0, end + 2);
                return text[..(end + 2)];
            }

            int n;
            try
            {
                n = await Socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                n = 0;
            }

            if (n == 0)
            {
                _received.Clear();
                return text;
            }

            _received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    /// <summary>True once the server has closed its side (a read would return end of stream); waits at most <paramref name="wait"/>.</summary>
    public bool IsClosedByServer(TimeSpan wait)
    {
        if (!Socket.Poll(wait, SelectMode.SelectRead))
        {
            return false;
        }

        try
        {
            return Socket.Available == 0 && Socket.Receive(new byte[1], SocketFlags.Peek) == 0;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
