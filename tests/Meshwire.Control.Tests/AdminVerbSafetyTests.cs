using System.Text.Json;
using Meshwire.Control.Api;
using Meshwire.Control.Cli;
using Meshwire.Control.Data;

namespace Meshwire.Control.Tests;

/// <summary>
/// The admin verbs for API keys (offline, on the database, and over a running server's admin socket), the files the
/// verbs read (bounded, text only) and what they print (controls escaped).
/// </summary>
public sealed class AdminVerbSafetyTests
{
    [Fact]
    public async Task ApiKeysCreateListRevoke_Offline_ListedWithoutSecretThenRefused()
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-verbs").FullName;
        try
        {
            var (created, createdOut, createErrors) = await RunAsync("--state", state, "--json", "apikeys", "create", "--name", "ci", "--expiry", "3600");
            Assert.True(created == ControlProgram.ExitOk, createErrors);
            var key = JsonSerializer.Deserialize<ApiKeyInfo>(createdOut, JsonSerializerOptions.Web)!;

            var (listed, listOut, _) = await RunAsync("--state", state, "apikeys", "list");
            var (revoked, revokeOut, revokeErrors) = await RunAsync("--state", state, "apikeys", "revoke", key.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var (_, jsonList, _) = await RunAsync("--state", state, "--json", "apikeys", "list");

            Assert.Equal(ControlProgram.ExitOk, listed);
            Assert.Contains(key.Prefix, listOut, StringComparison.Ordinal);
            Assert.Contains("ci", listOut, StringComparison.Ordinal);
            Assert.Contains("by admin", listOut, StringComparison.Ordinal);
            Assert.DoesNotContain(key.Key!, listOut, StringComparison.Ordinal);
            Assert.True(revoked == ControlProgram.ExitOk, revokeErrors);
            Assert.Contains($"revoked API key {key.Id}", revokeOut, StringComparison.Ordinal);
            var after = Assert.Single(JsonSerializer.Deserialize<List<ApiKeyInfo>>(jsonList, JsonSerializerOptions.Web)!);
            Assert.NotNull(after.RevokedAt);
            Assert.Null(after.Key);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task ApiKeysRevoke_RunningServer_KeyRefusedByTheServerAtOnce()
    {
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        var key = await server.Service.CreateApiKeyAsync();
        Assert.True(await server.Service.ValidateApiKeyAsync(key.Key));

        var (exit, _, errors) = await RunAsync("--state", server.State, "apikeys", "revoke", key.Prefix);
        var (_, listed, _) = await RunAsync("--state", server.State, "apikeys", "list");

        Assert.True(exit == ControlProgram.ExitOk, errors);
        Assert.False(await server.Service.ValidateApiKeyAsync(key.Key));
        Assert.Contains("REVOKED", listed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("99999999999")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("soon")]
    public async Task ApiKeysCreate_NonsenseExpiry_UsageErrorAndNoKey(string expiry)
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-verbs").FullName;
        try
        {
            var (exit, _, errors) = await RunAsync("--state", state, "apikeys", "create", "--expiry", expiry);
            var (_, listed, _) = await RunAsync("--state", state, "--json", "apikeys", "list");

            Assert.Equal(ControlProgram.ExitUsage, exit);
            Assert.Contains("--expiry", errors, StringComparison.Ordinal);
            Assert.Equal("[]", listed.Trim());
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task ApiKeysCreate_LongerThanTheMaximum_RefusedWithTheLimit()
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-verbs").FullName;
        try
        {
            var (exit, _, errors) = await RunAsync("--state", state, "apikeys", "create", "--expiry", "2147483647");

            Assert.Equal(ControlProgram.ExitFailed, exit);
            Assert.Contains("maximum API key lifetime", errors, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Theory]
    [InlineData("90d", 90 * 86400)]
    [InlineData("12h", 12 * 3600)]
    [InlineData("30m", 1800)]
    [InlineData("3600", 3600)]
    [InlineData("45s", 45)]
    public void Duration_Valid_Parsed(string text, long seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ControlProgram.Duration(text, "--apikey-max-lifetime"));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-1d")]
    [InlineData("3651d")]
    [InlineData("99999999999999999999")]
    [InlineData("1y")]
    [InlineData("d")]
    public async Task Serve_BadApiKeyMaxLifetime_UsageError(string value)
    {
        var (exit, _, errors) = await RunAsync("--state", "/nonexistent-meshwire", "serve", "--apikey-max-lifetime", value);

        Assert.Equal(ControlProgram.ExitUsage, exit);
        Assert.Contains("--apikey-max-lifetime", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsersList_LoginStoredWithControls_PrintedEscaped()
    {
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        await using (var db = server.Service.CreateDb())
        {
            // As a database written before logins were checked may hold.
            db.Users.Add(new UserRow { Login = "eve\u001b[2J\u202Egpj.exe\0", CreatedAt = DateTimeOffset.UnixEpoch });
            await db.SaveChangesAsync();
        }

        var (exit, output, _) = await RunAsync("--state", server.State, "users", "list");

        Assert.Equal(ControlProgram.ExitOk, exit);
        Assert.Contains(@"eve\u{001B}[2J\u{202E}gpj.exe\u{0000}", output, StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', output);
        Assert.DoesNotContain('\u202e', output);
        Assert.DoesNotContain('\0', output);
    }

    [Fact]
    public async Task UsersCreate_LoginWithControls_Refused()
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-verbs").FullName;
        try
        {
            var (exit, _, errors) = await RunAsync("--state", state, "users", "create", "mallory\u001b]0;owned\u0007");
            var (_, listed, _) = await RunAsync("--state", state, "--json", "users", "list");

            Assert.Equal(ControlProgram.ExitFailed, exit);
            Assert.Contains("control or bidi-override", errors, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', errors);
            Assert.Equal("[]", listed.Trim());
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Theory]
    [InlineData("policy", "set")]
    [InlineData("relays", "set")]
    public async Task SetFromFile_DevZero_FailsQuicklyWithAClearError(string verb, string sub)
    {
        var state = Directory.CreateTempSubdirectory("meshwire-control-verbs").FullName;
        try
        {
            var started = DateTime.UtcNow;
            var (exit, _, errors) = await RunAsync("--state", state, verb, sub, "/dev/zero");

            Assert.Equal(ControlProgram.ExitFailed, exit);
            Assert.Contains("not a regular file", errors, StringComparison.Ordinal);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task PolicyCheck_DevZero_FailsWithAClearError()
    {
        var (exit, output, _) = await RunAsync("policy", "check", "/dev/zero");

        Assert.Equal(ControlProgram.ExitFailed, exit);
        Assert.Contains("not a regular file", output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await ControlProgram.RunAsync(args, output, errors);
        return (exit, output.ToString(), errors.ToString());
    }
}
