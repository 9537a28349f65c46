using System.Diagnostics;
using System.Runtime.InteropServices;
using Meshwire.Net.Engine;
using Meshwire.Net.Uapi;
using Microsoft.Extensions.Logging;

namespace Meshwire.Wg;

/// <summary>
/// meshwire-wg [-f|--foreground] INTERFACE-NAME — invoked exactly like wireguard-go.
/// Without -f the process starts itself again in the foreground, detached in a new session, waits until that
/// child reports the UAPI socket ready, and returns (as wg-quick expects).
/// </summary>
internal static partial class Program
{
    private const string ReadyLine = "meshwire-wg: ready";
    private const string ChildVariable = "MESHWIRE_WG_DETACHED_CHILD";

    private static int Main(string[] args)
    {
        var foreground = false;
        string? name = null;
        foreach (var arg in args)
        {
            switch (arg)
            {
                case "-f" or "--foreground":
                    foreground = true;
                    break;
                case "--version" or "-v":
                    Console.WriteLine($"meshwire-wg {typeof(Program).Assembly.GetName().Version}");
                    return 0;
                case "-h" or "--help":
                    PrintUsage(Console.Out);
                    return 0;
                default:
                    if (arg.StartsWith('-') || name is not null)
                    {
                        PrintUsage(Console.Error);
                        return 2;
                    }

                    name = arg;
                    break;
            }
        }

        if (name is null || name.Length is 0 or > 15 || name.Contains('/'))
        {
            PrintUsage(Console.Error);
            return 2;
        }

        if (!foreground && Environment.GetEnvironmentVariable(ChildVariable) is null)
        {
            return Detach(name);
        }

        return RunForeground(name, detachedChild: !foreground);
    }

    private static void PrintUsage(TextWriter writer) =>
        writer.WriteLine("Usage: meshwire-wg [-f/--foreground] INTERFACE-NAME");

    /// <summary>
    /// Starts the foreground child detached and returns once it is ready. All three of the child's standard streams are
    /// pipes to us, never our own: the runtime duplicates a process's standard descriptors before Main runs, so whatever
    /// the child starts with it keeps, and whoever started us (wg-quick, a shell pipeline) must not wait for it.
    /// The child writes either the ready line or what went wrong; anything but the ready line we pass on.
    /// </summary>
    private static int Detach(string name)
    {
        // .NET hands inherited descriptors on to children; a daemon must not keep its starter's pipes open.
        CloseInheritedDescriptors();
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate own executable");
        var start = new ProcessStartInfo(self, [name])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment[ChildVariable] = "1";
        using var child = Process.Start(start) ?? throw new InvalidOperationException("cannot start child");
        child.StandardInput.Close();
        child.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine(e.Data);
            }
        };
        child.BeginErrorReadLine();
        while (child.StandardOutput.ReadLine() is { } line)
        {
            if (line == ReadyLine)
            {
                return 0;
            }

            Console.Error.WriteLine(line);
        }

        child.WaitForExit(5000);
        return child.HasExited ? Math.Max(child.ExitCode, 1) : 1;
    }

    private static int RunForeground(string name, bool detachedChild)
    {
        // A detached child must never let .NET's Console duplicate the caller's pipes (it dups the descriptors it
        // wraps), or whoever started our parent (wg-quick, a shell pipeline) would wait for us forever. It keeps only
        // stdout, the pipe to the parent, for one line written with write(2), then lets go of that too.
        if (detachedChild)
        {
            _ = SetSid();
            CloseInheritedDescriptors();
            RedirectToDevNull(0);
            RedirectToDevNull(2);
        }

        var level = Environment.GetEnvironmentVariable("LOG_LEVEL") switch
        {
            "verbose" or "debug" => LogLevel.Debug,
            "silent" => LogLevel.None,
            _ => LogLevel.Information,
        };
        using var loggerFactory = LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(level);
            if (!detachedChild)
            {
                b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            }
        });
        var logger = loggerFactory.CreateLogger($"meshwire-wg({name})");

        WireGuardEngine engine;
        try
        {
            engine = WireGuardEngine.Start(name, logger);
        }
        catch (Exception ex)
        {
            Report(detachedChild, $"meshwire-wg: cannot create interface {name}: {ex.Message}");
            return 1;
        }

        using (engine)
        {
            UapiServer uapi;
            try
            {
                uapi = UapiServer.Start(name, engine, logger: logger);
            }
            catch (Exception ex)
            {
                Report(detachedChild, $"meshwire-wg: cannot open the UAPI socket for {name}: {ex.Message}");
                return 1;
            }

            using (uapi)
            {
                Log.Started(logger, name, engine.ListenPort);
                Report(detachedChild, ReadyLine);
                if (detachedChild)
                {
                    RedirectToDevNull(1);
                }

                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; engine.Dispose(); });
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; engine.Dispose(); });
                engine.Stopped.Wait();
                Log.Stopping(logger, name);
            }
        }

        return 0;
    }

    /// <summary>One line to whoever started us: the console in the foreground, the parent's pipe (raw fd 1) when detached.</summary>
    private static void Report(bool detachedChild, string line)
    {
        if (!detachedChild)
        {
            (line == ReadyLine ? Console.Out : Console.Error).WriteLine(line);
            return;
        }

        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        _ = Write(1, bytes, bytes.Length);
    }

    /// <summary>
    /// Closes descriptors above 2 that lack FD_CLOEXEC: the runtime opens all of its own with it, so those came from
    /// whoever started us (wg-quick keeps its stderr on fd 3, a shell may leave others).
    /// </summary>
    private static void CloseInheritedDescriptors()
    {
        const int FGetFd = 1;
        const int FdCloexec = 1;
        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries("/proc/self/fd");
        }
        catch (IOException)
        {
            return;
        }

        foreach (var entry in entries)
        {
            if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2)
            {
                var flags = Fcntl(fd, FGetFd, 0);
                if (flags >= 0 && (flags & FdCloexec) == 0)
                {
                    _ = Close(fd);
                }
            }
        }
    }

    private static void RedirectToDevNull(int fd)
    {
        var devNull = Open("/dev/null", 2 /* O_RDWR */);
        if (devNull < 0)
        {
            return;
        }

        _ = Dup2(devNull, fd);
        if (devNull != fd)
        {
            _ = Close(devNull);
        }
    }

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSid();

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "dup2", SetLastError = true)]
    private static partial int Dup2(int oldFd, int newFd);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Interface {Name} up, listening on UDP port {Port}")]
        public static partial void Started(ILogger logger, string name, ushort port);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Interface {Name} shutting down")]
        public static partial void Stopping(ILogger logger, string name);
    }
}
