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

    /// <summary>Starts the foreground child detached and returns once it is ready.</summary>
    private static int Detach(string name)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate own executable");
        var start = new ProcessStartInfo(self, [name])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        start.Environment[ChildVariable] = "1";
        using var child = Process.Start(start) ?? throw new InvalidOperationException("cannot start child");
        var line = child.StandardOutput.ReadLine();
        if (line == ReadyLine)
        {
            return 0;
        }

        child.WaitForExit(5000);
        return child.HasExited ? Math.Max(child.ExitCode, 1) : 1;
    }

    private static int RunForeground(string name, bool detachedChild)
    {
        if (detachedChild)
        {
            _ = SetSid();
        }

        var level = Environment.GetEnvironmentVariable("LOG_LEVEL") switch
        {
            "verbose" or "debug" => LogLevel.Debug,
            "silent" => LogLevel.None,
            _ => LogLevel.Information,
        };
        using var loggerFactory = LoggerFactory.Create(b => b
            .SetMinimumLevel(level)
            .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
            .AddFilter((_, _) => !detachedChild || level == LogLevel.Debug));
        var logger = loggerFactory.CreateLogger($"meshwire-wg({name})");

        WireGuardEngine engine;
        try
        {
            engine = WireGuardEngine.Start(name, logger);
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"meshwire-wg: cannot create interface {name}: {ex.Message}");
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
                Console.Error.WriteLine($"meshwire-wg: cannot open the UAPI socket for {name}: {ex.Message}");
                return 1;
            }

            using (uapi)
            {
                Log.Started(logger, name, engine.ListenPort);
                Console.Out.WriteLine(ReadyLine);
                Console.Out.Flush();
                if (detachedChild)
                {
                    // The parent has gone; nothing reads our console any more.
                    Console.SetOut(TextWriter.Null);
                    Console.SetError(TextWriter.Null);
                }

                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; engine.Dispose(); });
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; engine.Dispose(); });
                engine.Stopped.Wait();
                Log.Stopping(logger, name);
            }
        }

        return 0;
    }

    [LibraryImport("libc", EntryPoint = "setsid", SetLastError = true)]
    private static partial int SetSid();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Interface {Name} up, listening on UDP port {Port}")]
        public static partial void Started(ILogger logger, string name, ushort port);

        [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Interface {Name} shutting down")]
        public static partial void Stopping(ILogger logger, string name);
    }
}
