using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Meshwire.Relay.Client;

namespace Meshwire.Relay.Tests;

/// <summary>
/// meshwire-relay stops promptly on SIGTERM while nodes are connected: a restart (systemd, the soak run) must not
/// wait for the host's 30 s shutdown timeout because upgraded relay connections never finish on their own.
/// </summary>
public sealed partial class RelayShutdownTests
{
    [Fact]
    public async Task Program_SigtermWithConnectedClients_ExitsWithinSeconds()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "meshwire-relay.dll"), "--listen", "127.0.0.1:0", "--no-stun" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start meshwire-relay");
        var output = new StringBuilder();
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data is { } line && ListeningOn().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var url = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await using var first = new RelayClient(url, RelayKeys.GenerateNodeKey(), RelayLab.FastReconnect);
            await using var second = new RelayClient(url, RelayKeys.GenerateNodeKey(), RelayLab.FastReconnect);
            await first.ConnectAsync();
            await second.ConnectAsync();

            var stopping = Stopwatch.StartNew();
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            var exited = await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(20))) is { IsCompletedSuccessfully: true } done
                && process.HasExited;
            Assert.True(exited && stopping.Elapsed < TimeSpan.FromSeconds(5), $"meshwire-relay took {stopping.Elapsed.TotalSeconds:F1} s to stop (exited: {exited}):\n{output}");
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync();
        }
    }

    [GeneratedRegex(@"listening on (http://[^ ,]+)")]
    private static partial Regex ListeningOn();
}
