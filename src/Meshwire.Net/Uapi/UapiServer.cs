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
/// As in wireguard-go: an unknown operation line closes the connection without an answer, and a get whose next line
/// is not blank answers errno=-22 and closes. A set that fails validation answers errno=-22 (or -71) and the
/// connection stays usable, because the whole request has been read.
/// Requests from all connections reach the device one at a time.
/// </summary>
public sealed partial class UapiServer : IAsyncDisposable, IDisposable
{
    /// <summary>Where wg(8) and wg-quick look for userspace interfaces (https://www.wireguard.com/xplatform/).</summary>
    public const string DefaultSocketDirectory = "/var/run/wireguard";

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly IConfigurableDevice _device;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();

    // Serializes GetStatus/Apply across connections, like one set or get at a time on a wireguard-go device.
    private readonly Lock _deviceGate = new();

    private readonly Socket _listener;
    private readonly Task _acceptLoop;
    private int _disposed;

    private UapiServer(string socketPath, Socket listener, IConfigurableDevice device, ILogger logger)
    {
        SocketPath = socketPath;
        _listener = listener;
        _device = device;
        _logger = logger;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    /// <summary>
    /// Creates the socket directory (0755) if needed, replaces a stale socket file, listens on
    /// {socketDirectory}/{interfaceName}.sock (mode 0700) and starts accepting.
    /// Throws IOException if another live process already serves that socket.
    /// </summary>
    public static UapiServer Start(string interfaceName, IConfigurableDevice device, string? socketDirectory = null, ILogger? logger = null)
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

        return new UapiServer(path, listener, device, logger ?? NullLogger.Instance);
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

    private async Task ServeAsync(Socket connection)
    {
        using var registration = _stopping.Token.Register(connection.Dispose);
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        using var reader = new StreamReader(stream, Utf8, detectEncodingFromByteOrderMarks: false);
        await using var writer = new StreamWriter(stream, Utf8) { NewLine = "\n" };
        try
        {
            while (await reader.ReadLineAsync(_stopping.Token).ConfigureAwait(false) is { } operation)
            {
                if (!await HandleAsync(operation, reader, writer).ConfigureAwait(false))
                {
                    return;
                }

                await writer.FlushAsync(_stopping.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client went away or the server is stopping.
        }
    }

    /// <summary>Answers one request into <paramref name="writer"/>; false when the connection should close.</summary>
    private async Task<bool> HandleAsync(string operation, StreamReader reader, StreamWriter writer)
    {
        switch (operation)
        {
            case "get=1":
            {
                var next = await reader.ReadLineAsync(_stopping.Token).ConfigureAwait(false);
                if (next is null)
                {
                    return false;
                }

                if (next.Length != 0)
                {
                    LogMalformed(_logger, operation);
                    UapiProtocol.FormatErrno(UapiErrors.Invalid, writer);
                    await writer.FlushAsync(_stopping.Token).ConfigureAwait(false);
                    return false;
                }

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

            case "set=1":
            {
                var lines = new List<string>();
                while (await reader.ReadLineAsync(_stopping.Token).ConfigureAwait(false) is { Length: > 0 } line)
                {
                    lines.Add(line);
                }

                int errno;
                if (UapiProtocol.TryParseSet(lines, out var update, out errno))
                {
                    try
                    {
                        lock (_deviceGate)
                        {
                            errno = _device.Apply(update);
                        }
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        LogDeviceFailed(_logger, e);
                        errno = UapiErrors.Unknown;
                    }
                }

                if (errno != 0)
                {
                    LogSetFailed(_logger, errno);
                }

                UapiProtocol.FormatErrno(errno, writer);
                return true;
            }

            default:
                LogMalformed(_logger, operation.Length > 32 ? operation[..32] : operation);
                return false;
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "UAPI: invalid operation {Operation}; closing the connection")]
    private static partial void LogMalformed(ILogger logger, string operation);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "UAPI: set request failed with errno {Errno}")]
    private static partial void LogSetFailed(ILogger logger, int errno);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "UAPI: the device failed to answer a request")]
    private static partial void LogDeviceFailed(ILogger logger, Exception exception);
}
