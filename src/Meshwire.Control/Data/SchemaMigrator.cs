using System.Reflection;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control.Data;

/// <summary>
/// Versioned schema migrations, applied in order at start inside one transaction each. The applied versions are
/// rows of schema_versions. Each migration is a frozen SQL file per provider, embedded from Data/Migrations
/// ("0001_initial.sqlite.sql", "0001_initial.postgres.sql"): a later model change adds a new numbered pair and
/// never edits an old one. A test checks that the migrations produce the EF model's schema.
/// </summary>
internal static class SchemaMigrator
{
    public static readonly IReadOnlyList<(int Version, string Name)> Migrations = [(1, "initial"), (2, "relay_insecure"), (3, "apikey_audit")];

    public static async Task<int> MigrateAsync(ControlDbContext db, DatabaseKind kind, CancellationToken cancellationToken)
    {
        if (kind == DatabaseKind.Sqlite)
        {
            // WAL: readers never block the writer, and the journal mode is persistent in the file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }

        var applied = await AppliedVersionsAsync(db, kind, cancellationToken);
        var count = 0;
        foreach (var (version, name) in Migrations)
        {
            if (applied.Contains(version))
            {
                continue;
            }

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (kind == DatabaseKind.Postgres)
            {
                // Several replicas may start at once: one migrates, the others wait here and then see the version.
                await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_xact_lock(7242001);", cancellationToken);
                if ((await AppliedVersionsAsync(db, kind, cancellationToken)).Contains(version))
                {
                    continue;
                }
            }

            await db.Database.ExecuteSqlRawAsync(Script(version, name, kind), cancellationToken);
            db.SchemaVersions.Add(new SchemaVersionRow { Version = version, Name = name, AppliedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            count++;
        }

        return count;
    }

    public static string Script(int version, string name, DatabaseKind kind)
    {
        var resource = $"{version:D4}_{name}.{(kind == DatabaseKind.Sqlite ? "sqlite" : "postgres")}.sql";
        var assembly = typeof(SchemaMigrator).Assembly;
        var fullName = assembly.GetManifestResourceNames().Single(n => n.EndsWith(resource, StringComparison.Ordinal));
        using var stream = assembly.GetManifestResourceStream(fullName)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task<HashSet<int>> AppliedVersionsAsync(ControlDbContext db, DatabaseKind kind, CancellationToken cancellationToken)
    {
        var exists = kind == DatabaseKind.Sqlite
            ? "SELECT COUNT(*) AS \"Value\" FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'"
            : "SELECT COUNT(*)::int AS \"Value\" FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_versions'";
        var found = await db.Database.SqlQueryRaw<int>(exists).SingleAsync(cancellationToken);
        if (found == 0)
        {
            return [];
        }

        return [.. await db.SchemaVersions.Select(v => v.Version).ToListAsync(cancellationToken)];
    }
}
