using Meshwire.Control.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control.Tests;

/// <summary>
/// The frozen migrations and the EF model agree. The first migration is the model's create script as it was; the
/// whole chain, applied to an empty SQLite database, yields the model's tables and columns. (PostgreSQL runs the
/// same chain in every …OnPostgres test, whose reads and writes touch every column.)
/// </summary>
public sealed class MigrationTests
{
    [Fact]
    public async Task AllMigrations_AppliedToEmptySqlite_ProduceTheModelSchema()
    {
        var migrated = await SchemaOfAsync(async db => await SchemaMigrator.MigrateAsync(db, DatabaseKind.Sqlite, CancellationToken.None));
        var model = await SchemaOfAsync(db => db.Database.ExecuteSqlRawAsync(db.Database.GenerateCreateScript()));
        migrated.Remove("schema_versions");
        model.Remove("schema_versions");
        Assert.Equal(model.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"), migrated.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}"));
    }

    [Fact]
    public void Migrations_AreNumberedWithoutGapsAndHaveBothProviders()
    {
        for (var i = 0; i < SchemaMigrator.Migrations.Count; i++)
        {
            var (version, name) = SchemaMigrator.Migrations[i];
            Assert.Equal(i + 1, version);
            Assert.NotEmpty(SchemaMigrator.Script(version, name, DatabaseKind.Sqlite));
            Assert.NotEmpty(SchemaMigrator.Script(version, name, DatabaseKind.Postgres));
        }
    }

    /// <summary>Table → its columns (name, type, not null, primary key), in name order, after <paramref name="create"/>.</summary>
    private static async Task<Dictionary<string, string>> SchemaOfAsync(Func<ControlDbContext, Task> create)
    {
        await using var connection = new SqliteConnection("Data Source=:memory:");
        await connection.OpenAsync();
        var builder = new DbContextOptionsBuilder<ControlDbContext>().UseSqlite(connection);
        await using (var db = new ControlDbContext(builder.Options))
        {
            await create(db);
        }

        var tables = new List<string>();
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var schema = new Dictionary<string, string>();
        foreach (var table in tables)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}') ORDER BY name";
            await using var reader = await command.ExecuteReaderAsync();
            var columns = new List<string>();
            while (await reader.ReadAsync())
            {
                columns.Add($"{reader.GetString(0)} {reader.GetString(1)} {reader.GetInt64(2)} {reader.GetInt64(3)}");
            }

            schema[table] = string.Join(", ", columns);
        }

        return schema;
    }
}
