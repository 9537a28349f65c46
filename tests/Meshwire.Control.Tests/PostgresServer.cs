using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Meshwire.Control.Tests;

/// <summary>
/// A throwaway PostgreSQL for the …OnPostgres test classes: Debian's postgresql binaries
/// (/usr/lib/postgresql/VERSION/bin), a cluster in a temp directory owned by the postgres system user, listening on
/// 127.0.0.1 on a free port only (socket directory inside the temp directory), fsync off (the durability of
/// PostgreSQL itself is not under test). Stopped by its PID at the end. Missing binaries fail loudly: ./run test
/// installs the package.
/// </summary>
public sealed class PostgresServer : ITestDatabase, IAsyncLifetime
{
    private const string SystemUser = "postgres";
    private int _databases;
    private Process? _postmaster;
    private string? _directory;
    private int _port;

    /// <summary>Null when the PostgreSQL tests can run here; else why they are skipped.</summary>
    public static string? SkipReason { get; } = Environment.IsPrivilegedProcess
        ? null
        : "PostgreSQL tests start a throwaway server as the postgres system user and need root (./run test runs as root)";

    public async Task InitializeAsync()
    {
        if (SkipReason is not null)
        {
            return;
        }

        var bin = FindBinaries();
        _directory = Directory.CreateTempSubdirectory("meshwire-pg").FullName;
        await RunAsync("chown", SystemUser + ":" + SystemUser, _directory);
        var data = Path.Combine(_directory, "data");
        await RunAsync("setpriv", [.. AsPostgres, Path.Combine(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        _port = FreePort();
        var start = new ProcessStartInfo("setpriv") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])[.. AsPostgres, Path.Combine(bin, "postgres"), "-D", data, "-k", _directory, "-h", "127.0.0.1", "-p", _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200"])
        {
            start.ArgumentList.Add(a);
        }

        // setpriv execs postgres, so this PID is the postmaster's.
        _postmaster = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        _postmaster.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _postmaster.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _postmaster.BeginOutputReadLine();
        _postmaster.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
                await connection.OpenAsync();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException)
            {
                if (_postmaster.HasExited || DateTime.UtcNow > deadline)
                {
                    lock (log)
                    {
                        throw new InvalidOperationException($"PostgreSQL did not start: {e.Message}\n{log}");
                    }
                }

                await Task.Delay(100);
            }
        }
    }

    public async Task<string?> CreateDatabaseAsync()
    {
        var name = $"meshwire_{Interlocked.Increment(ref _databases)}";
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString(name);
    }

    private string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={_port};Username=postgres;Database={database};Pooling=true;Timeout=10";

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        if (_postmaster is { HasExited: false } postmaster)
        {
            // SIGINT is PostgreSQL's fast shutdown: backends end, the postmaster exits.
            await RunAsync("kill", "-INT", postmaster.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!postmaster.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                postmaster.Kill();
            }
        }

        _postmaster?.Dispose();
        if (_directory is not null)
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string[] AsPostgres => ["--reuid=" + SystemUser, "--regid=" + SystemUser, "--init-groups", "--"];

    private static string FindBinaries()
    {
        var root = "/usr/lib/postgresql";
        var bin = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        return bin ?? throw new InvalidOperationException(
            "PostgreSQL tests need Debian's postgresql package (no /usr/lib/postgresql/*/bin/postgres): apt-get install -y postgresql, or run ./run test");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
        }
    }
}
