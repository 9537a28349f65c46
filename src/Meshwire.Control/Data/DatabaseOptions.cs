using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;

namespace Meshwire.Control.Data;

internal enum DatabaseKind
{
    Sqlite,
    Postgres,
}

/// <summary>
/// Where the control database lives. Default: SQLite file "control.db" under the state directory (WAL mode,
/// synchronous=FULL so a committed write survives kill -9 and power loss). "postgres://user:pass@host:port/db" or
/// an Npgsql connection string ("Host=...") selects PostgreSQL.
/// </summary>
internal sealed record DatabaseOptions(DatabaseKind Kind, string ConnectionString)
{
    /// <summary>The SQLite database file (its -wal and -shm beside it); null for PostgreSQL.</summary>
    public string? SqlitePath { get; init; }

    public static DatabaseOptions Parse(string? db, string stateDirectory)
    {
        if (string.IsNullOrWhiteSpace(db))
        {
            var path = Path.Combine(stateDirectory, "control.db");
            return new(DatabaseKind.Sqlite, $"Data Source={path};Pooling=True") { SqlitePath = path };
        }

        if (db.StartsWith("postgres://", StringComparison.Ordinal) || db.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            return new(DatabaseKind.Postgres, PostgresUrlToConnectionString(new Uri(db)));
        }

        if (db.StartsWith("Host=", StringComparison.OrdinalIgnoreCase))
        {
            return new(DatabaseKind.Postgres, db);
        }

        if (db.StartsWith("sqlite:", StringComparison.Ordinal))
        {
            return new(DatabaseKind.Sqlite, $"Data Source={db["sqlite:".Length..]};Pooling=True") { SqlitePath = db["sqlite:".Length..] };
        }

        throw new ArgumentException($"--db \"{db}\" is neither postgres://user:pass@host:port/db, Host=..., nor sqlite:PATH");
    }

    private static string PostgresUrlToConnectionString(Uri uri)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = uri.AbsolutePath.Trim('/'),
        };
        if (uri.UserInfo.Length > 0)
        {
            var parts = uri.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length > 1)
            {
                builder.Password = Uri.UnescapeDataString(parts[1]);
            }
        }

        return builder.ConnectionString;
    }

    public void Configure(DbContextOptionsBuilder builder)
    {
        if (Kind == DatabaseKind.Sqlite)
        {
            builder.UseSqlite(ConnectionString).AddInterceptors(SqlitePragmas.Instance);
        }
        else
        {
            builder.UseNpgsql(ConnectionString);
        }
    }

    public override string ToString() => Kind == DatabaseKind.Sqlite ? $"sqlite ({ConnectionString})" : "postgres";
}

/// <summary>Per-connection SQLite settings (not persisted in the file, unlike journal_mode=WAL).</summary>
internal sealed class SqlitePragmas : DbConnectionInterceptor
{
    public static readonly SqlitePragmas Instance = new();

    private const string Pragmas = "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Run(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Run(connection);
        return Task.CompletedTask;
    }

    private static void Run(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragmas;
        command.ExecuteNonQuery();
    }
}
