using System.Diagnostics;
using System.Text;

namespace Meshwire.IntegrationTests.Lab;

/// <summary>Runs lab commands (ip, wg, ping, iperf3) with a time limit and captures their output.</summary>
internal static class Shell
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public Result EnsureSuccess(string what)
        {
            if (ExitCode != 0)
            {
                throw new InvalidOperationException($"{what} failed with exit code {ExitCode}: {Error.Trim()} {Output.Trim()}");
            }

            return this;
        }
    }

    public static Result Run(string file, params string[] args) => Run(TimeSpan.FromSeconds(60), null, file, args);

    public static Result Run(TimeSpan timeout, string? stdin, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = new StringBuilder();
        var error = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (error) { error.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
            process.StandardInput.Close();
        }

        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new Result(-1, output.ToString(), $"timed out after {timeout.TotalSeconds} s: {file} {string.Join(' ', args)}");
        }

        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString(), error.ToString());
    }

    /// <summary>The repository root: the folder holding Meshwire.slnx.</summary>
    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Meshwire.slnx")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Meshwire.slnx not found above the test binaries");
        }
    }

    /// <summary>A published executable under out/ (./run build puts them there).</summary>
    public static string Executable(string name)
    {
        var path = Path.Combine(RepositoryRoot, "out", name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing: run ./run build first (./run test does)");
        }

        return path;
    }
}
