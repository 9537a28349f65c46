using System.Text.Json;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.Agent.Tests;

/// <summary>
/// Secrets and file modes of the real meshwired: the auth key given by file, file: prefix or environment never
/// appears in /proc/PID/cmdline (readable by every local user) and still reaches the agent; one given on the command
/// line draws a single warning; the state directory, keys, prefs, the LocalAPI socket and its directory have the
/// modes docs/security.md lists. Each daemon runs in its own namespace (its TUN device) against a login server
/// that never answers (port 9 on the namespace's loopback), so the key stays in prefs.json where the test reads it.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DaemonSecretsTests
{
    private const UnixFileMode Owner600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Owner700 = Owner600 | UnixFileMode.UserExecute;
    private const UnixFileMode Public755 = Owner700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    [RootFact]
    public Task Meshwired_AuthKeyFile_NotInCommandLineAndUsed() =>
        RunWithKeyAsync((file, _) => (["--authkey-file", file], null));

    [RootFact]
    public Task Meshwired_AuthKeyFilePrefix_NotInCommandLineAndUsed() =>
        RunWithKeyAsync((file, _) => (["--authkey", "file:" + file], null));

    [RootFact]
    public Task Meshwired_AuthKeyEnvironment_NotInCommandLineAndUsed() =>
        RunWithKeyAsync((_, key) => ([], new Dictionary<string, string> { ["MESHWIRE_AUTHKEY"] = key }));

    [RootFact]
    public async Task Meshwired_AuthKeyOnCommandLine_StillWorksAndWarnsOnce()
    {
        var key = "mwauth-argv-" + Guid.NewGuid().ToString("N");
        await WithDaemonAsync(["--authkey", key], null, async (daemon, state) =>
        {
            Assert.Equal(key, await PrefsAuthKeyAsync(state, daemon));
            await Eventually.TrueAsync(() => daemon.Log.Contains("visible to every local user", StringComparison.Ordinal), $"the argv warning ({daemon.Log})");
            Assert.Single(daemon.Log.Split('\n'), l => l.Contains("visible to every local user", StringComparison.Ordinal));
            Assert.Contains("--authkey-file", daemon.Log);
        });
    }

    private static async Task RunWithKeyAsync(Func<string, string, (string[] Args, Dictionary<string, string>? Environment)> source)
    {
        var key = "mwauth-secret-" + Guid.NewGuid().ToString("N");
        var keyDirectory = Directory.CreateTempSubdirectory("mw-key").FullName;
        try
        {
            var file = Path.Combine(keyDirectory, "authkey");
            File.WriteAllText(file, key + "\n");
            File.SetUnixFileMode(file, Owner600);
            var (args, environment) = source(file, key);
            await WithDaemonAsync(args, environment, async (daemon, state) =>
            {
                Assert.Equal(key, await PrefsAuthKeyAsync(state, daemon));
                var commandLine = File.ReadAllText($"/proc/{daemon.Pid}/cmdline").Replace('\0', ' ');
                Assert.Contains("meshwired", commandLine);
                Assert.DoesNotContain(key, commandLine);
                Assert.DoesNotContain("visible to every local user", daemon.Log);

                // The modes docs/security.md promises for the daemon's files.
                Assert.Equal(Owner700, File.GetUnixFileMode(state));
                foreach (var name in new[] { "machine.key", "node.key", "disco.key", "prefs.json" })
                {
                    Assert.Equal(Owner600, File.GetUnixFileMode(Path.Combine(state, name)));
                }

                Assert.Equal(Public755, File.GetUnixFileMode(Path.Combine(Path.GetDirectoryName(state)!, "run")));
                Assert.Equal(Owner600, File.GetUnixFileMode(Path.Combine(Path.GetDirectoryName(state)!, "run", "meshwired.sock")));
            });
        }
        finally
        {
            Directory.Delete(keyDirectory, recursive: true);
        }
    }

    /// <summary>Runs meshwired in a fresh namespace with STATE and its socket under a temporary root; stops it and cleans up.</summary>
    private static async Task WithDaemonAsync(string[] keyArgs, Dictionary<string, string>? environment, Func<Daemon, string, Task> body)
    {
        using var ns = new NetNamespace($"mwsec-{Environment.ProcessId}-{Random.Shared.Next(100000)}");
        var root = Directory.CreateTempSubdirectory("mw-secrets").FullName;
        var state = Path.Combine(root, "state");
        var socket = Path.Combine(root, "run", "meshwired.sock");
        using var daemon = Daemon.Run(ns,
            ["--state", state, "--socket", socket, "--tun", "mw0", "--login-server", "http://127.0.0.1:9", .. keyArgs], environment);
        try
        {
            await Eventually.TrueAsync(() => File.Exists(socket) || daemon.HasExited, "the LocalAPI socket", 30000);
            Assert.False(daemon.HasExited, $"meshwired exited: {daemon.Log}");
            await body(daemon, state);
        }
        finally
        {
            daemon.Terminate();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<string?> PrefsAuthKeyAsync(string state, Daemon daemon)
    {
        var prefs = Path.Combine(state, "prefs.json");
        await Eventually.TrueAsync(() => File.Exists(prefs), $"prefs.json ({daemon.Log})", 30000);
        using var json = JsonDocument.Parse(await File.ReadAllBytesAsync(prefs));
        return json.RootElement.TryGetProperty("authKey", out var key) ? key.GetString() : null;
    }
}
