using Meshwire.Control.Cli;
using Meshwire.Control.Hosting;

namespace Meshwire.Control.Tests;

/// <summary>
/// What meshwire-control leaves on disk is its own: the state directory 0700, control.db with its -wal and -shm,
/// machine.key and the admin socket 0600, whether `serve` or an admin verb (which opens the database itself when no
/// server runs) created them, and whatever the test process's umask (022 here; the real program sets 077).
/// An existing directory open to others keeps its mode with a warning; the server's own files are narrowed.
/// Also: the database URL and the OIDC client secret by file or environment.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class StateFileModeTests : IDisposable
{
    private const UnixFileMode Owner600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Owner700 = Owner600 | UnixFileMode.UserExecute;

    private readonly string _root = Directory.CreateTempSubdirectory("mwc-modes").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Serve_NewStateDirectory_DirectoryOwnerOnlyAndEveryFile0600()
    {
        var state = Path.Combine(_root, "state");
        var warnings = new List<string>();
        await using var server = await TestServer.StartAsync(o => { o.AdminSocket = true; o.Warn = warnings.Add; }, state);
        await server.AuthKeyAsync();

        Assert.Equal(Owner700, File.GetUnixFileMode(state));
        var db = Path.Combine(state, "control.db");
        Assert.True(File.Exists(db + "-wal") && File.Exists(db + "-shm"), "a serving control keeps the WAL open");
        foreach (var name in new[] { "control.db", "control.db-wal", "control.db-shm", "machine.key", "control.sock" })
        {
            Assert.True(File.GetUnixFileMode(Path.Combine(state, name)) == Owner600, $"{name} is {File.GetUnixFileMode(Path.Combine(state, name))}");
        }

        Assert.Empty(warnings);
    }

    [Fact]
    public async Task UsersCreate_OfflineNewStateDirectory_DirectoryOwnerOnlyAndDatabase0600()
    {
        var state = Path.Combine(_root, "offline");

        var (exit, _, errors) = await RunAsync("--state", state, "users", "create", "alice");

        Assert.True(exit == ControlProgram.ExitOk, errors);
        Assert.Equal(Owner700, File.GetUnixFileMode(state));
        foreach (var file in Directory.GetFiles(state))
        {
            Assert.True(File.GetUnixFileMode(file) == Owner600, $"{Path.GetFileName(file)} is {File.GetUnixFileMode(file)}");
        }

        Assert.Contains(Path.Combine(state, "control.db"), Directory.GetFiles(state));
        Assert.DoesNotContain("warning", errors);
    }

    [Fact]
    public async Task UsersList_LooseDirectoryAndDatabase_DatabaseNarrowedDirectoryWarned()
    {
        var state = Path.Combine(_root, "loose");
        Assert.Equal(ControlProgram.ExitOk, (await RunAsync("--state", state, "users", "create", "alice")).Exit);
        var open755 = Owner700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(state, open755);
        File.SetUnixFileMode(Path.Combine(state, "control.db"), Owner600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var (exit, output, errors) = await RunAsync("--state", state, "users", "list");

        Assert.Equal(ControlProgram.ExitOk, exit);
        Assert.Contains("alice", output);
        Assert.Equal(Owner600, File.GetUnixFileMode(Path.Combine(state, "control.db")));
        Assert.Contains($"{Path.Combine(state, "control.db")} was open to other users (mode 0644); narrowed it to 0600", errors);
        Assert.Equal(open755, File.GetUnixFileMode(state));
        Assert.Contains($"state directory {state} is open to other users (mode 0755)", errors);
    }

    [Fact]
    public async Task Db_FromFile_UsedAndNotWarned()
    {
        var state = Path.Combine(_root, "dbfile");
        var elsewhere = Path.Combine(_root, "elsewhere.db");
        var file = Secret("sqlite:" + elsewhere);

        var (exit, _, errors) = await RunAsync("--state", state, "--db-file", file, "users", "create", "alice");

        Assert.True(exit == ControlProgram.ExitOk, errors);
        Assert.True(File.Exists(elsewhere), "the database named in the file");
        Assert.Equal(Owner600, File.GetUnixFileMode(elsewhere));
        Assert.DoesNotContain("warning", errors);
    }

    [Theory]
    [InlineData("postgres://mw:hunter2@127.0.0.1:1/mw", true)]
    [InlineData("Host=127.0.0.1;Port=1;Password=hunter2", true)]
    [InlineData("postgres://mw@127.0.0.1:1/mw", false)]
    public void Db_OnCommandLine_WarnsOnlyWhenItHoldsAPassword(string db, bool warned)
    {
        var warnings = new List<string>();

        Assert.Equal(db, ControlSecrets.Database(db, null, warnings.Add));

        Assert.Equal(warned, warnings.Any(w => w.Contains("--db on the command line is visible to every local user", StringComparison.Ordinal)));
    }

    [Fact]
    public void OidcClientSecret_FileThenArgvWarns_BothRefused()
    {
        var warnings = new List<string>();
        var file = Secret("s3cret\n");

        Assert.Equal("s3cret", ControlSecrets.OidcClientSecret(null, file, warnings.Add));
        Assert.Empty(warnings);
        Assert.Equal("s3cret", ControlSecrets.OidcClientSecret("s3cret", null, warnings.Add));
        Assert.Contains("--oidc-client-secret-file PATH", Assert.Single(warnings));
        Assert.Throws<ArgumentException>(() => ControlSecrets.OidcClientSecret("a", file, warnings.Add));
    }

    private string Secret(string content)
    {
        var path = Path.Combine(_root, "secret-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, Owner600);
        return path;
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await ControlProgram.RunAsync(args, output, errors);
        return (exit, output.ToString(), errors.ToString());
    }
}
