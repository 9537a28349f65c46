using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Meshwire.Relay.Frames;
using Meshwire.RelayHost;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The relay's mesh key by file (--mesh-key-file, e.g. a systemd credential) or environment ($MESHWIRE_RELAY_MESH_KEY),
/// the command line still accepted with a warning; its state directory 0700 and relay.key 0600.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class RelayHostSecretsTests : IDisposable
{
    private const UnixFileMode Owner600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Owner700 = Owner600 | UnixFileMode.UserExecute;

    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private readonly string _root = Directory.CreateTempSubdirectory("mw-relay-secrets").FullName;
    private readonly string _hex = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Parse_MeshKeyFile_KeyFromTheFileNoWarning()
    {
        var options = RelayHostOptions.Parse(["--mesh-with", "https://relay2.test", "--mesh-key-file", KeyFile(_hex + "\n")], NoEnvironment);

        Assert.Equal(Expected(), options.MeshKey);
        Assert.Empty(options.Warnings);
    }

    [Fact]
    public void Parse_MeshKeyInEnvironment_KeyFromTheEnvironment()
    {
        var options = RelayHostOptions.Parse(["--mesh-with", "https://relay2.test"], name => name == "MESHWIRE_RELAY_MESH_KEY" ? _hex : null);

        Assert.Equal(Expected(), options.MeshKey);
        Assert.Empty(options.Warnings);
    }

    [Fact]
    public void Parse_MeshKeyOnCommandLine_StillTakenWithAWarning()
    {
        var options = RelayHostOptions.Parse(["--mesh-key", _hex], NoEnvironment);

        Assert.Equal(Expected(), options.MeshKey);
        var warning = Assert.Single(options.Warnings);
        Assert.Contains("visible to every local user", warning);
        Assert.Contains("--mesh-key-file PATH or $MESHWIRE_RELAY_MESH_KEY", warning);
    }

    [Theory]
    [InlineData("not hex", "the mesh key is 64 hex digits")]
    [InlineData("", "the file is empty")]
    public void Parse_MeshKeyFileBad_SaysWhichFileAndWhy(string content, string why)
    {
        var file = KeyFile(content);

        var error = Assert.Throws<ArgumentException>(() => RelayHostOptions.Parse(["--mesh-key-file", file], NoEnvironment));

        Assert.Contains(file, error.Message);
        Assert.Contains(why, error.Message);
    }

    [Fact]
    public void Parse_MeshKeyAndMeshKeyFile_Refused() =>
        Assert.Contains("not both", Assert.Throws<ArgumentException>(() => RelayHostOptions.Parse(["--mesh-key", _hex, "--mesh-key-file", KeyFile(_hex)], NoEnvironment)).Message);

    [Fact]
    public void Parse_MeshWithoutAnyKey_NamesTheFileAndVariable() =>
        Assert.Contains("--mesh-key-file PATH or $MESHWIRE_RELAY_MESH_KEY",
            Assert.Throws<ArgumentException>(() => RelayHostOptions.Parse(["--mesh-with", "https://relay2.test"], NoEnvironment)).Message);

    [Fact]
    public async Task Create_NewStateDirectory_Directory0700AndKey0600()
    {
        var state = Path.Combine(_root, "state");

        await using (var relay = await RelayLab.StartAsync(RelayLab.Options with { StateDirectory = state }))
        {
            Assert.Equal(Owner700, File.GetUnixFileMode(state));
            Assert.Equal(Owner600, File.GetUnixFileMode(Path.Combine(state, "relay.key")));
            Assert.Equal(["relay.key"], Directory.GetFiles(state).Select(Path.GetFileName));
        }

        // A key left open to others by an older version is narrowed on the next start; the key itself is kept.
        var key = Path.Combine(state, "relay.key");
        var before = File.ReadAllText(key);
        File.SetUnixFileMode(key, Owner600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        await using (var again = await RelayLab.StartAsync(RelayLab.Options with { StateDirectory = state }))
        {
            Assert.Equal(Owner600, File.GetUnixFileMode(key));
            Assert.Equal(before, File.ReadAllText(key));
        }
    }

    /// <summary>
    /// The real meshwire-relay with the mesh key in its environment: it starts meshing (no usage error), its command
    /// line (readable by every local user) does not hold the key, and its state is owner-only under its own umask.
    /// </summary>
    [Fact]
    public async Task Program_MeshKeyFromEnvironment_StartsWithoutKeyOnCommandLine()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "meshwire-relay.dll"), "--listen", "127.0.0.1:0", "--no-stun",
            "--mesh-with", "http://127.0.0.1:9", "--state-dir", Path.Combine(_root, "program") })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["MESHWIRE_RELAY_MESH_KEY"] = _hex;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start meshwire-relay");
        var output = new StringBuilder();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(first == listening.Task, $"meshwire-relay did not start:\n{output}");
            var commandLine = await File.ReadAllTextAsync($"/proc/{process.Id}/cmdline");
            Assert.Contains("--mesh-with", commandLine);
            Assert.DoesNotContain(_hex, commandLine, StringComparison.OrdinalIgnoreCase);
            Assert.Equal(Owner700, File.GetUnixFileMode(Path.Combine(_root, "program")));
            Assert.Equal(Owner600, File.GetUnixFileMode(Path.Combine(_root, "program", "relay.key")));
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

    private RelayMeshKey Expected() => RelayMeshKey.TryParse(_hex, out var key) ? key : throw new InvalidOperationException();

    private string KeyFile(string content)
    {
        var path = Path.Combine(_root, "mesh-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, Owner600);
        return path;
    }
}
