using Meshwire.Shared;

namespace Meshwire.Control.Data;

/// <summary>
/// Modes of what the control server keeps on disk, applied before the database is opened (by `serve` and by the
/// admin verbs that open the database themselves). The state directory is created 0700; an existing one open to
/// other users keeps its mode with a warning (it may be shared, or set so on purpose). The server's own files
/// (control.db, its -wal and -shm, machine.key) are 0600: an existing one open to others is narrowed, with a
/// warning, and control.db is created empty at 0600 before SQLite opens it, because SQLite creates the database
/// with the process umask and gives the -wal and -shm files the database file's mode.
/// </summary>
internal static class StateFiles
{
    public static void Prepare(string stateDirectory, DatabaseOptions database, Action<string> warn)
    {
        if (SecretFile.PrepareDirectory(stateDirectory) is { } loose)
        {
            warn(loose);
        }

        List<string> own = [Path.Combine(stateDirectory, "machine.key")];
        if (database.SqlitePath is { } db)
        {
            own.AddRange([db, db + "-wal", db + "-shm"]);
        }

        foreach (var path in own)
        {
            if (SecretFile.Tighten(path) is { } narrowed)
            {
                warn(narrowed);
            }
        }

        if (database.SqlitePath is { } file && !File.Exists(file) && !OperatingSystem.IsWindows())
        {
            // An empty file is an empty SQLite database: SQLite fills it on first write, keeping this mode.
            using var created = new FileStream(file, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = SecretFile.OwnerOnlyFile,
            });
        }
    }
}
