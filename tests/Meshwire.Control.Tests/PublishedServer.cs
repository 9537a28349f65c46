using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Meshwire.Control.Tests;

/// <summary>
/// The real `meshwire-control` program in its own process (so it can be killed with SIGKILL). Uses the repository's
/// out/meshwire-control.dll (what `./run build` publishes) when present, else publishes once into a temp directory.
/// </summary>
internal sealed partial class PublishedServer : IAsyncDisposable
{
    private static readonly SemaphoreSlim PublishLock = new(1, 1);
    private static string? _published;

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private PublishedServer(Process process, string state)
    {
        _process = process;
        State = state;
    }

    public string State { get; }

    public Uri Url { get; private set; } = null!;

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Runs `meshwire-control --state STATE serve --listen http://127.0.0.1:0` and waits for its address.</summary>
    public static async Task<PublishedServer> StartAsync(string state)
    {
        var dll = await ProgramAsync();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "--state", state, "serve", "--listen", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start meshwire-control");
        var server = new PublishedServer(process, state);
        var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (server._output)
            {
                server._output.AppendLine(e.Data);
            }

            if (ServingLine().Match(e.Data) is { Success: true } m)
            {
                address.TrySetResult(new Uri(m.Groups[1].Value));
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(address.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (first != address.Task)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"meshwire-control did not start serving:\n{server.Output}");
        }

        server.Url = await address.Task;
        return server;
    }

    /// <summary>`meshwire-control --state STATE --json apikeys create` with no server running: opens the database itself.</summary>
    public static async Task<string> CreateApiKeyAsync(string state)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { await ProgramAsync(), "--state", state, "--json", "apikeys", "create" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"apikeys create exited {process.ExitCode}: {await stderr}");
        using var json = JsonDocument.Parse(await stdout);
        return json.RootElement.GetProperty("key").GetString()!;
    }

    public HttpClient Http(string apiKey)
    {
        var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return http;
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a power cut of the process.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }

        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }

        _process.Dispose();
    }

    private static async Task<string> ProgramAsync()
    {
        await PublishLock.WaitAsync();
        try
        {
            if (_published is not null)
            {
                return _published;
            }

            var root = Meshwire.IntegrationTests.Lab.Shell.RepositoryRoot;
            var built = Path.Combine(root, "out", "meshwire-control.dll");
            if (!File.Exists(built))
            {
                var target = Directory.CreateTempSubdirectory("meshwire-control-publish").FullName;
                var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = root };
                foreach (var a in new[] { "publish", Path.Combine("src", "meshwire-control"), "-c", "Release", "-o", target, "--nologo", "-v", "quiet" })
                {
                    start.ArgumentList.Add(a);
                }

                using var process = Process.Start(start)!;
                var stdout = process.StandardOutput.ReadToEndAsync();
                var stderr = process.StandardError.ReadToEndAsync();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
                Assert.True(process.ExitCode == 0, $"dotnet publish meshwire-control failed:\n{await stdout}\n{await stderr}");
                built = Path.Combine(target, "meshwire-control.dll");
            }

            _published = built;
            return built;
        }
        finally
        {
            PublishLock.Release();
        }
    }

    [GeneratedRegex(@"serving on .*?(http://127\.0\.0\.1:\d+)")]
    private static partial Regex ServingLine();
}
