using System.Net.Sockets;
using System.Text;
using Meshwire.WireGuard.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Meshwire.Net.Uapi;

/// <summary>
/// Serves the configuration protocol on the unix socket {directory}/{interface}.sock, where wg(8) looks for it.
/// Flow per connection: read an operation line → "get=1" + blank line: answer the status; "set=1" + key=value lines
/// + blank line: parse all, apply all or nothing, answer errno → read the next operation, until the peer closes.
/// A set is applied only when its blank line has arrived: a connection that ends, fails or passes its deadline
/// before that applies nothing of it. <see cref="UapiRequestReader"/> does the reading: as in wireguard-go, an
/// unknown operation line closes the connection without an answer, and a get whose next line is not blank answers
/// errno=-22 and closes. A set that fails validation answers errno=-22 (or -71) and the connection stays usable,
/// because the whole request has been read. A line or set beyond <see cref="UapiLimits"/> answers errno=-90 and
/// closes; each request must be whole and answered within <see cref="UapiLimits.RequestTimeout"/>.
/// Requests from all connections reach the device one at a time.
/// </summary>
public sealed partial class UapiServer : IAsyncDisposable, IDisposable
{
    /// <summary>Where wg(8) and wg-quick look for userspace interfaces (https://www.wireguard.com/xplatform/).</summary>
    public const string DefaultSocketDirectory = "/var/run/wireguard";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    // Room for a few dozen typical lines per receive; at least MaxLineBytes + 1, so the longest line fits with its '\n'.
    private const int ReceiveBufferBytes = 4 * (UapiLimits.MaxLineBytes + 1);

    private readonly IConfigurableDevice _device;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();

    // Serializes GetStatus/Apply across connections, like one set or get at a time on a wireguard-go device.
    private readonly Lock _deviceGate = new();

    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private int _disposed;

    private UapiServer(string socketPath, Socket listener, IConfigurableDevice device, ILogger logger, TimeProvider time)
    {
        SocketPath = socketPath;
        _listener = listener;
        _device = device;
        _logger = logger;
        _time = time;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>
    /// Creates the socket directory (0755) if needed, replaces a stale socket file, listens on
    /// {socketDirectory}/{interfaceName}.sock (mode 0700) and starts accepting.
    /// Throws IOException if another live process already serves that socket.
    /// </summary>
    /// <param name="timeProvider">The clock of the request deadlines; the system's when omitted.</param>
    public static UapiServer Start(string interfaceName, IConfigurableDevice device, string? socketDirectory = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        ArgumentNullException.ThrowIfNull(device);
        if (interfaceName.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("An interface name has no '/'.", nameof(interfaceName));
        }

        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The UAPI unix socket server runs on Linux.");
        }

        var directory = socketDirectory ?? DefaultSocketDirectory;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        var path = Path.Combine(directory, interfaceName + ".sock");
        RemoveStaleSocket(path);

        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));

            // wireguard-go binds under umask 077; the umask is process-wide here, so narrow the mode right after bind
            // (before listen, so nobody can connect in between).
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            listener.Listen(16);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        return new UapiServer(path, listener, device, logger ?? NullLogger.Instance, timeProvider ?? TimeProvider.System);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            File.Delete(SocketPath);
        }
        catch (IOException)
        {
        }

        _stopping.Dispose();
    }

    private static void RemoveStaleSocket(string path)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new IOException($"{path} is in use by a running process.");
            }
            catch (SocketException)
            {
                // Nobody listens: a leftover of a process that died.
            }
        }

        File.Delete(path);
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(connection));
        }
    }

    /// <summary>
    /// Serves one connection: receive into a fixed buffer → the reader takes whole lines → a whole request is answered
    /// → the next. Each request runs under its own deadline, which closes the connection when it passes. The buffer
    /// holds a few lines and is never grown: a longer line is refused by the reader before it could fill it.
    /// </summary>
    private async Task ServeAsync(Socket connection)
    {
        using var stopping = _stopping.Token.Register(static s => ((Socket)s!).Dispose(), connection);
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        await using var writer = new StreamWriter(stream, Utf8) { NewLine = "\n" };
        var reader = new UapiRequestReader();
        var buffer = new byte[ReceiveBufferBytes];
        var start = 0;
        var end = 0;
        while (true)
        {
            using var deadline = new CancellationTokenSource(UapiLimits.RequestTimeout, _time);
            using var expiry = deadline.Token.Register(static s => ((Socket)s!).Dispose(), connection);
            try
            {
                UapiReadResult request;
                while ((request = reader.TryRead(buffer.AsSpan(start, end - start))).Status == UapiReadStatus.NeedMoreData)
                {
                    start += request.Consumed;
                    if (start == end)
                    {
                        start = end = 0;
                    }
                    else if (end == buffer.Length)
                    {
                        // Only part of one line is left, shorter than the buffer (the reader refuses longer ones).
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                        (start, end) = (0, end - start);
                    }

                    var received = await connection.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                    if (received == 0)
                    {
                        if (reader.InRequest || start != end)
                        {
                            LogCutOff(_logger);
                        }

                        return;
                    }

                    end += received;
                }

                start += request.Consumed;
                if (!Answer(request, writer))
                {
                    await writer.FlushAsync().ConfigureAwait(false);
                    return;
                }

                await writer.FlushAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // The client went away, the request's deadline passed, or the server is stopping.
                if (deadline.IsCancellationRequested)
                {
                    LogDeadline(_logger, UapiLimits.RequestTimeout.TotalSeconds);
                }

                return;
            }
        }
    }

    /// <summary>Answers one whole request into <paramref name="writer"/>; false when the connection closes after it.</summary>
    private bool Answer(UapiReadResult request, StreamWriter writer)
    {
        switch (request.Status)
        {
            case UapiReadStatus.Get:
            {
                DeviceStatus status;
                try
                {
                    lock (_deviceGate)
                    {
                        status = _device.GetStatus();
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // A failing device must not take the server down; wg prints the errno.
                    LogDeviceFailed(_logger, e);
                    UapiProtocol.FormatErrno(UapiErrors.Unknown, writer);
                    return true;
                }

                UapiProtocol.FormatGet(status, writer);
                return true;
            }

            case UapiReadStatus.Set:
            {
                int errno;
                try
                {
                    lock (_deviceGate)
                    {
                        errno = _device.Apply(request.Update!);
                    }
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    LogDeviceFailed(_logger, e);
                    errno = UapiErrors.Unknown;
                }

                if (errno != 0)
                {
                    LogSetFailed(_logger, errno);
                }

                UapiProtocol.FormatErrno(errno, writer);
                return true;
            }

            case UapiReadStatus.SetRejected:
                LogSetFailed(_logger, request.Errno);
                UapiProtocol.FormatErrno(request.Errno, writer);
                return true;

            default:
                if (request.Errno == UapiErrors.MessageTooLong)
                {
                    LogTooLong(_logger, UapiLimits.MaxLineBytes, UapiLimits.MaxRequestLines);
                }
                else
                {
                    LogMalformed(_logger);
                }

                if (request.Errno != 0)
                {
                    UapiProtocol.FormatErrno(request.Errno, writer);
                }

                return false;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "UAPI: invalid request; closing the connection")]
    private static partial void LogMalformed(ILogger logger);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "UAPI: set request failed with errno {Errno}")]
    private static partial void LogSetFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "UAPI: the device failed to answer a request")]
    private static partial void LogDeviceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "UAPI: request refused: a line longer than {MaxLineBytes} bytes or a set of more than {MaxRequestLines} lines; closing the connection")]
    private static partial void LogTooLong(ILogger logger, int maxLineBytes, int maxRequestLines);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "UAPI: the client closed in the middle of a request; nothing of it was applied")]
    private static partial void LogCutOff(ILogger logger);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "UAPI: a request did not finish within {Seconds} s; closed the connection (a set cut off is not applied)")]
    private static partial void LogDeadline(ILogger logger, double seconds);
}
