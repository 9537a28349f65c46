using System.Diagnostics;
using Meshwire.LocalApiTesting;

namespace Meshwire.Cli.Tests;

/// <summary>
/// `meshwire up` takes the auth key without putting it on its command line (--authkey-file PATH, --authkey
/// file:PATH, $MESHWIRE_AUTHKEY), warns when it is on the command line, and a user who may not open the daemon's
/// socket is told "permission denied" and to use sudo, not "meshwired is not running".
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class CliSecretsTests : IAsyncLifetime
{
    private const string ArgvWarning = "visible to every local user";

    private readonly FakeBackend _backend = new();
    private LocalApiHost _host = null!;

    public async Task InitializeAsync() => _host = await LocalApiHost.StartAsync(_backend);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("--authkey-file")]
    [InlineData("--authkey=file:")]
    public async Task Up_AuthKeyFromFile_SendsTheFilesKeyWithoutWarning(string form)
    {
        var file = KeyFile("mwauth-from-file\n");
        string[] args = form == "--authkey-file" ? ["up", "--authkey-file", file] : ["up", form + file];

        var (code, _, error) = await RunAsync(args);

        Assert.Equal(0, code);
        Assert.Equal("mwauth-from-file", Assert.Single(_backend.Ups).AuthKey);
        Assert.DoesNotContain(ArgvWarning, error);
    }

    [Fact]
    public async Task Up_AuthKeyOnCommandLine_StillSentWithAWarning()
    {
        var (code, _, error) = await RunAsync(["up", "--authkey", "mwauth-argv"]);

        Assert.Equal(0, code);
        Assert.Equal("mwauth-argv", Assert.Single(_backend.Ups).AuthKey);
        Assert.Contains(ArgvWarning, error);
        Assert.Contains("--authkey-file PATH", error);
    }

    [Fact]
    public async Task Up_AuthKeyAndAuthKeyFile_UsageErrorNothingSent()
    {
        var (code, _, error) = await RunAsync(["up", "--authkey", "mwauth-a", "--authkey-file", KeyFile("mwauth-b")]);

        Assert.Equal(2, code);
        Assert.Contains("not both", error);
        Assert.Empty(_backend.Ups);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n \n")]
    public async Task Up_AuthKeyFileEmpty_UsageErrorNamesTheFile(string content)
    {
        var file = KeyFile(content);

        var (code, _, error) = await RunAsync(["up", "--authkey-file", file]);

        Assert.Equal(2, code);
        Assert.Contains($"--authkey-file {file}: the file is empty", error);
        Assert.Empty(_backend.Ups);
    }

    [Fact]
    public async Task Up_AuthKeyFileMissing_UsageErrorNamesTheFile()
    {
        var file = Path.Combine(_host.Directory, "absent");

        var (code, _, error) = await RunAsync(["up", "--authkey-file", file]);

        Assert.Equal(2, code);
        Assert.Contains($"--authkey-file {file}: cannot read it", error);
    }

    [Fact]
    public async Task Up_AuthKeyFileEndless_RefusedWithoutReadingItAll()
    {
        var (code, _, error) = await RunAsync(["up", "--authkey-file", "/dev/zero"]);

        Assert.Equal(2, code);
        Assert.Contains("larger than", error);
    }

    /// <summary>
    /// The real CLI as nobody (setpriv) against the daemon's socket, which is root's and 0600, in a directory anyone
    /// may enter: connect fails with EACCES, and the CLI says so and names sudo; a missing socket in the same
    /// directory is still "not running" for the same user.
    /// </summary>
    [Fact]
    public async Task Status_SocketOfAnotherUser_PermissionDeniedSaysSudo()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            return; // Needs root to own the socket and to drop to nobody; ./run test runs as root.
        }

        File.SetUnixFileMode(_host.Directory, (UnixFileMode)0b111_101_101);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_host.SocketPath));

        var (code, error) = await RunAsNobodyAsync("--socket", _host.SocketPath, "status");

        Assert.Equal(4, code);
        Assert.Contains($"permission denied on {_host.SocketPath}", error);
        Assert.Contains("sudo meshwire status", error);
        Assert.DoesNotContain("not running", error);

        var absent = Path.Combine(Path.GetDirectoryName(_host.SocketPath)!, "absent.sock");
        var (absentCode, absentError) = await RunAsNobodyAsync("--socket", absent, "status");
        Assert.Equal(3, absentCode);
        Assert.Contains("meshwired is not running", absentError);
    }

    private async Task<(int Code, string Out, string Err)> RunAsync(string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var cli = new Cli(stdout, stderr) { UpPoll = TimeSpan.FromMilliseconds(20) };
        var code = await cli.RunAsync(["--socket", _host.SocketPath, .. args]);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string KeyFile(string content)
    {
        var path = Path.Combine(_host.Directory, "authkey-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static async Task<(int Code, string Error)> RunAsNobodyAsync(params string[] args)
    {
        var start = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["--reuid=65534", "--regid=65534", "--clear-groups", "dotnet", Path.Combine(AppContext.BaseDirectory, "meshwire.dll"), .. args])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["HOME"] = "/tmp";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start setpriv");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (process.ExitCode, await stderr + await stdout);
    }
}
