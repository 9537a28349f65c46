using Xunit.Abstractions;
using Xunit.Sdk;

namespace Meshwire.Control.Tests;

/// <summary>The database a test class runs its servers on: each call gives a fresh, empty database.</summary>
public interface ITestDatabase
{
    /// <summary>A connection string for ControlOptions.Database; null selects SQLite in the server's state directory.</summary>
    Task<string?> CreateDatabaseAsync();
}

/// <summary>SQLite: control.db in each server's own temp state directory.</summary>
public sealed class SqliteDatabase : ITestDatabase
{
    public static readonly SqliteDatabase Instance = new();

    public Task<string?> CreateDatabaseAsync() => Task.FromResult<string?>(null);
}

/// <summary>
/// Base of the test classes that run on both databases: a concrete subclass per database (…OnSqlite, …OnPostgres)
/// inherits every test. Test methods use <see cref="DbFactAttribute"/> / <see cref="DbTheoryAttribute"/>, which
/// skip the PostgreSQL copies with a message when the tests cannot start a PostgreSQL server (not root).
/// </summary>
public abstract class DatabaseTests(ITestDatabase database)
{
    protected ITestDatabase Database { get; } = database;

    private protected async Task<TestServer> StartAsync(Action<Hosting.ControlOptions>? configure = null)
    {
        var connection = await Database.CreateDatabaseAsync();
        var server = await TestServer.StartAsync(configure, database: connection);
        Assert.Equal(connection is null ? Data.DatabaseKind.Sqlite : Data.DatabaseKind.Postgres, server.Service.DatabaseKind);
        return server;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}

/// <summary>[Fact] that is skipped, with the reason, on a …OnPostgres class when PostgreSQL tests cannot run.</summary>
[XunitTestCaseDiscoverer("Meshwire.Control.Tests.DbFactDiscoverer", "Meshwire.Control.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class DbFactAttribute : FactAttribute;

/// <summary>[Theory] counterpart of <see cref="DbFactAttribute"/>.</summary>
[XunitTestCaseDiscoverer("Meshwire.Control.Tests.DbTheoryDiscoverer", "Meshwire.Control.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class DbTheoryAttribute : TheoryAttribute;

public sealed class DbFactDiscoverer(IMessageSink sink) : FactDiscoverer(sink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        DbSkip.Reason(testMethod) is { } reason
            ? [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)]
            : base.Discover(discoveryOptions, testMethod, factAttribute);
}

public sealed class DbTheoryDiscoverer(IMessageSink sink) : TheoryDiscoverer(sink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo theoryAttribute) =>
        DbSkip.Reason(testMethod) is { } reason
            ? [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)]
            : base.Discover(discoveryOptions, testMethod, theoryAttribute);
}

internal static class DbSkip
{
    public static string? Reason(ITestMethod testMethod) =>
        testMethod.TestClass.Class.Name.EndsWith("OnPostgres", StringComparison.Ordinal) ? PostgresServer.SkipReason : null;
}
