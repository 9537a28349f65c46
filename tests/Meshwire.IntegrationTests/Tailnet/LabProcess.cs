using System.Diagnostics;
using System.Globalization;
using System.Text;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests.Tailnet;

/// <summary>
/// One program the lab started, optionally inside a namespace (`ip netns exec` execs the program, so the PID is
/// the program's own). Its output is kept for failure messages; it is stopped only by its PID.
/// </summary>
internal sealed class LabProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private LabProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        Pid = process.Id;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Starts <paramref name="file"/> inside <paramref name="ns"/> (or here when null).</summary>
    public static LabProcess Start(string name, NetNamespace? ns, string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = ns is null
            ? new ProcessStartInfo(file, args)
            : new ProcessStartInfo("ip", ["netns", "exec", ns.Name, file, .. args]);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        return new LabProcess(name, process);
    }

    /// <summary>Waits until a line of output contains <paramref name="text"/>; fails early when the process exits.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            if (_process.HasExited)
            {
                // Let the output readers drain before giving up.
                _process.WaitForExit();
                if (Log.Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before printing \"{text}\":\n{Log}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name} did not print \"{text}\" within {timeout.TotalSeconds} s:\n{Log}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits for the process to end by itself; true when it did within <paramref name="timeout"/>.</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit();
        return true;
    }

    /// <summary>SIGKILL: the process gets no chance to clean up (a crash, a power cut).</summary>
    public void Kill9()
    {
        if (!_process.HasExited)
        {
            Signal("KILL");
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; true when it stopped on SIGTERM.</summary>
    public bool Terminate(TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            return true;
        }

        Signal("TERM");
        if (WaitForExit(grace ?? TimeSpan.FromSeconds(10)))
        {
            return true;
        }

        Kill9();
        return false;
    }

    public void Dispose()
    {
        Terminate(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }

    public override string ToString() => $"--- {Name} (pid {Pid}{(HasExited ? $", exited {ExitCode}" : "")})\n{Log}";

    private void Signal(string signal) =>
        Shell.Run(TimeSpan.FromSeconds(5), null, "kill", $"-{signal}", Pid.ToString(CultureInfo.InvariantCulture));

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_log)
            {
                _log.AppendLine(line);
            }
        }
    }
}
