namespace Meshwire.Shared;

/// <summary>
/// How every Meshwire program takes a secret (auth key, relay mesh key, database URL, OIDC client secret): from a
/// file (`--NAME-file PATH`, e.g. a systemd credential under $CREDENTIALS_DIRECTORY), from the environment, or, for
/// compatibility, from the command line with a warning. The command line of a process is readable by every local
/// user (/proc/PID/cmdline, ps) for the life of the process, and rewriting it from .NET would still leave it
/// visible from exec until the rewrite, so argv is never the recommended way; /proc/PID/environ and a 0600 file are
/// readable only by the process's user and root. Compiled into each program that takes a secret (linked source).
/// </summary>
internal static partial class SecretFile
{
    /// <summary>Largest secret file read; a key is far smaller, and a bound keeps /dev/zero from exhausting memory.</summary>
    public const int MaxBytes = 16 * 1024;

    /// <summary>What a secret option resolved to: the value (null when none was given) and a warning to print once, if any.</summary>
    public readonly record struct Secret(string? Value, string? Warning);

    /// <summary>
    /// The secret from <paramref name="argValue"/> (argv; "file:PATH" reads PATH when <paramref name="filePrefix"/>),
    /// <paramref name="filePath"/> (the --NAME-file flag) or the environment variable <paramref name="envVar"/>, in
    /// that order. Giving both the value and the file is an error; the environment is only the fallback.
    /// <paramref name="environment"/> reads a variable (default: the process environment; tests pass their own).
    /// </summary>
    public static Secret Resolve(string flag, string? argValue, string? filePath, string envVar, bool filePrefix = false, Func<string, string?>? environment = null)
    {
        if (argValue is not null && filePath is not null)
        {
            throw new ArgumentException($"give {flag} or {flag}-file, not both");
        }

        if (filePrefix && argValue is not null && argValue.StartsWith("file:", StringComparison.Ordinal))
        {
            filePath = argValue["file:".Length..];
            argValue = null;
        }

        if (argValue is not null)
        {
            return new Secret(argValue.Length > 0 ? argValue : throw new ArgumentException($"{flag} is empty"), ArgvWarning(flag, envVar));
        }

        if (filePath is not null)
        {
            return new Secret(Read(filePath, flag + "-file"), ModeWarning(filePath));
        }

        var fromEnvironment = (environment ?? Environment.GetEnvironmentVariable)(envVar);
        return new Secret(string.IsNullOrWhiteSpace(fromEnvironment) ? null : fromEnvironment.Trim(), null);
    }

    /// <summary>
    /// The secret in <paramref name="path"/>: its text with surrounding whitespace (the trailing newline of `echo`)
    /// removed. Errors name the flag and say what is wrong: missing, unreadable, empty, larger than <see cref="MaxBytes"/>.
    /// </summary>
    public static string Read(string path, string flag)
    {
        if (path.Length == 0)
        {
            throw new ArgumentException($"{flag} needs a path");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
            var buffer = new byte[MaxBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = stream.Read(buffer, length, buffer.Length - length)) > 0)
            {
                length += read;
            }

            if (length > MaxBytes)
            {
                throw new ArgumentException($"{flag} {path}: larger than {MaxBytes} bytes; is this the right file?");
            }

            var text = System.Text.Encoding.UTF8.GetString(buffer, 0, length).Trim();
            Array.Clear(buffer);
            return text.Length > 0 ? text : throw new ArgumentException($"{flag} {path}: the file is empty");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{flag} {path}: cannot read it ({e.Message})", e);
        }
    }

    /// <summary>A warning when <paramref name="path"/> is readable or writable by group or others; null when it is not.</summary>
    public static string? ModeWarning(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var mode = File.GetUnixFileMode(path);
        return (mode & OpenToOthers) == 0
            ? null
            : $"{path} is readable by other users (mode {Octal(mode)}); chmod 600 it";
    }

    /// <summary>The warning for a secret given on the command line.</summary>
    public static string ArgvWarning(string flag, string envVar) =>
        $"{flag} on the command line is visible to every local user (ps, /proc/PID/cmdline) while this process runs; " +
        $"use {flag}-file PATH or ${envVar} instead";

    /// <summary>Group and other permission bits: what a file or directory holding secrets must not have.</summary>
    public const UnixFileMode OpenToOthers =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Read and write for the owner only (0600): every key and database file.</summary>
    public const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>rwx for the owner only (0700): every state directory.</summary>
    public const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0x1FF, 8);

    /// <summary>
    /// Creates <paramref name="directory"/> 0700 when missing; an existing one keeps its mode (it may be shared, or
    /// set by a service manager on purpose) and gets a warning when group or others may enter it. Returns the warning.
    /// </summary>
    public static string? PrepareDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return null;
        }

        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            return null;
        }

        var mode = File.GetUnixFileMode(directory);
        return (mode & OpenToOthers) == 0
            ? null
            : $"state directory {directory} is open to other users (mode {Octal(mode)}); the files in it are 0600, but chmod 700 it";
    }

    /// <summary>
    /// Narrows an existing file of this program's own (key, database) to 0600 when group or others had any access
    /// (a file created by an older version, or copied in with a loose umask). Returns a warning saying so, or null.
    /// </summary>
    public static string? Tighten(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path))
        {
            return null;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & OpenToOthers) == 0)
        {
            return null;
        }

        File.SetUnixFileMode(path, mode & ~OpenToOthers);
        return $"{path} was open to other users (mode {Octal(mode)}); narrowed it to {Octal(mode & ~OpenToOthers)}";
    }

    /// <summary>
    /// Sets the process umask to 077, so every file and socket the program creates starts owner-only: no window
    /// between a create and its chmod in which another user could open it. Called first thing by the servers.
    /// </summary>
    public static void RestrictUmask()
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = Umask(0b000_111_111);
        }
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint Umask(uint mask);
}
