using Meshwire.Control.Data;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control.Tests;

public sealed class MigrationTests
{
    [Theory]
    [InlineData(0, "Data Source=:memory:")]
    [InlineData(1, "Host=127.0.0.1;Database=x")]
    public void InitialMigration_FrozenScript_MatchesModel(int kindNumber, string connection)
    {
        var kind = (DatabaseKind)kindNumber;
        var builder = new DbContextOptionsBuilder<ControlDbContext>();
        new DatabaseOptions(kind, connection).Configure(builder);
        using var db = new ControlDbContext(builder.Options);
        var model = db.Database.GenerateCreateScript();
        if (Environment.GetEnvironmentVariable("MESHWIRE_WRITE_MIGRATIONS") is { } dir)
        {
            File.WriteAllText(Path.Combine(dir, $"0001_initial.{(kind == DatabaseKind.Sqlite ? "sqlite" : "postgres")}.sql"), model);
        }

        Assert.Equal(Normalize(model), Normalize(SchemaMigrator.Script(1, "initial", kind)));
    }

    private static string Normalize(string sql) => string.Join('\n', sql.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));
}
