using System.Net;
using System.Net.Http.Json;
using System.Text;
using Meshwire.Control.Api;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests;

/// <summary>API keys through the admin API: listed without secrets, revoked at once (with the keys they created), lives bounded.</summary>
public abstract class ApiKeyTests(ITestDatabase database) : DatabaseTests(database)
{
    [DbFact]
    public async Task ListApiKeys_AdminAndApiCreated_NoSecretsAndTheirCreator()
    {
        await using var server = await StartAsync();
        var admin = await server.Service.CreateApiKeyAsync(name: "ops");
        using var http = Client(server, admin.Key!);

        var child = await CreateAsync(http, """{"name":"ci"}""");
        var listed = (await http.GetFromJsonAsync<List<ApiKeyInfo>>("/api/v1/apikeys"))!;

        Assert.Equal([admin.Id, child.Id], listed.Select(k => k.Id));
        Assert.All(listed, k => Assert.Null(k.Key));
        Assert.Equal(("ops", "admin"), (listed[0].Name, listed[0].CreatedBy));
        Assert.Equal(("ci", $"apikey:{admin.Prefix}"), (listed[1].Name, listed[1].CreatedBy));
        Assert.NotNull(listed[0].LastUsed);
        Assert.Null(listed[1].RevokedAt);
        var text = await http.GetStringAsync("/api/v1/apikeys");
        Assert.DoesNotContain(admin.Key!, text, StringComparison.Ordinal);
        Assert.DoesNotContain("hash", text, StringComparison.OrdinalIgnoreCase);
    }

    [DbFact]
    public async Task RevokeApiKey_OnAnOpenConnection_NextRequestRefused()
    {
        await using var server = await StartAsync();
        var victim = await server.Service.CreateApiKeyAsync();
        var other = await server.Service.CreateApiKeyAsync();
        using var stolen = Client(server, victim.Key!);
        using var admin = Client(server, other.Key!);
        Assert.Equal(HttpStatusCode.OK, (await stolen.GetAsync("/api/v1/nodes")).StatusCode);

        using var revoke = await admin.DeleteAsync($"/api/v1/apikeys/{victim.Id}");
        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);

        // Same HttpClient, same kept-alive connection: refused on the very next request.
        using var after = await stolen.GetAsync("/api/v1/nodes");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.False(await server.Service.ValidateApiKeyAsync(victim.Key));
        Assert.NotNull((await server.Service.ListApiKeysAsync()).Single(k => k.Id == victim.Id).RevokedAt);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/nodes")).StatusCode);
    }

    [DbFact]
    public async Task RevokeApiKey_ByPrefix_RevokesEveryKeyItCreated()
    {
        await using var server = await StartAsync();
        var root = await server.Service.CreateApiKeyAsync();
        var unrelated = await server.Service.CreateApiKeyAsync();
        using var http = Client(server, root.Key!);
        var child = await CreateAsync(http, "");
        using var childHttp = Client(server, child.Key!);
        var grandchild = await CreateAsync(childHttp, "");

        var revoked = await server.Service.RevokeApiKeyAsync(root.Prefix);

        Assert.Equal(root.Id, revoked.Id);
        foreach (var key in new[] { root, child, grandchild })
        {
            Assert.False(await server.Service.ValidateApiKeyAsync(key.Key), key.Prefix);
        }

        Assert.True(await server.Service.ValidateApiKeyAsync(unrelated.Key));
    }

    [DbFact]
    public async Task RevokeApiKey_Unknown_NotFound()
    {
        await using var server = await StartAsync();
        using var http = Client(server, (await server.Service.CreateApiKeyAsync()).Key!);

        using var response = await http.DeleteAsync("/api/v1/apikeys/000000000000");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(ErrorCodes.NotFound, (await response.Content.ReadFromJsonAsync<ApiError>())!.Code);
    }

    [DbFact]
    public async Task CreateApiKey_FromAnApiKey_CannotOutliveIt()
    {
        await using var server = await StartAsync();
        var parent = await server.Service.CreateApiKeyAsync(expirySeconds: 3600);
        using var http = Client(server, parent.Key!);

        using var longer = await http.PostAsync("/api/v1/apikeys", Json("""{"expirySeconds":7200}"""));
        var defaulted = await CreateAsync(http, "");
        var shorter = await CreateAsync(http, """{"expirySeconds":600}""");

        Assert.Equal(HttpStatusCode.BadRequest, longer.StatusCode);
        var error = await longer.Content.ReadFromJsonAsync<ApiError>();
        Assert.Contains("cannot outlive", error!.Message, StringComparison.Ordinal);
        Assert.StartsWith("expirySeconds", error.Message, StringComparison.Ordinal);
        Assert.Equal(parent.ExpiresAt, defaulted.ExpiresAt);
        Assert.Equal(shorter.CreatedAt.AddSeconds(600), shorter.ExpiresAt);
        Assert.Equal(3, (await server.Service.ListApiKeysAsync()).Count);
    }

    [DbTheory]
    [InlineData("""{"expirySeconds":-1}""")]
    [InlineData("""{"expirySeconds":0}""")]
    [InlineData("""{"expirySeconds":99999999999}""")]
    [InlineData("""{"expirySeconds":1e40}""")]
    [InlineData("""{"expirySeconds":2147483647}""")]
    [InlineData("""{"expirySeconds":7776001}""")]
    [InlineData("""{"expirySeconds":1.5}""")]
    [InlineData("""{"expirySeconds":"2094-01-01"}""")]
    public async Task CreateApiKey_NonsenseExpiry_400NamingExpirySeconds(string body)
    {
        await using var server = await StartAsync();
        using var http = Client(server, (await server.Service.CreateApiKeyAsync()).Key!);

        using var response = await http.PostAsync("/api/v1/apikeys", Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ApiError>();
        Assert.Equal(ErrorCodes.BadRequest, error!.Code);
        Assert.StartsWith("expirySeconds", error.Message, StringComparison.Ordinal);
        Assert.Single(await server.Service.ListApiKeysAsync());
    }

    [DbFact]
    public async Task CreateApiKey_OperatorMaximum_BoundsDefaultAndExplicitExpiry()
    {
        await using var server = await StartAsync(o => o.MaxApiKeyLifetime = TimeSpan.FromDays(1));

        var defaulted = await server.Service.CreateApiKeyAsync();
        var e = await Assert.ThrowsAsync<ControlException>(() => server.Service.CreateApiKeyAsync(expirySeconds: 2 * 86400));

        Assert.Equal(defaulted.CreatedAt.AddDays(1), defaulted.ExpiresAt);
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
        Assert.Contains("maximum API key lifetime", e.Message, StringComparison.Ordinal);
    }

    [DbFact]
    public async Task ApiKey_AfterItsExpiry_Refused()
    {
        await using var server = await StartAsync();
        var key = await server.Service.CreateApiKeyAsync(expirySeconds: 60);
        using var http = Client(server, key.Key!);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/v1/users")).StatusCode);

        server.Time.Advance(TimeSpan.FromSeconds(61));

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/users")).StatusCode);
    }

    [DbFact]
    public async Task OpenApi_DescribesApiKeyListAndRevoke()
    {
        await using var server = await StartAsync();
        using var http = Client(server, (await server.Service.CreateApiKeyAsync()).Key!);

        var openapi = await http.GetStringAsync("/openapi/v1.json");

        Assert.Contains("\"/api/v1/apikeys\"", openapi, StringComparison.Ordinal);
        Assert.Contains("\"/api/v1/apikeys/{key}\"", openapi, StringComparison.Ordinal);
        Assert.Contains("CreateApiKeyRequest", openapi, StringComparison.Ordinal);
    }

    private static HttpClient Client(TestServer server, string key)
    {
        var http = new HttpClient { BaseAddress = server.Url };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key);
        return http;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<ApiKeyInfo> CreateAsync(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/api/v1/apikeys", Json(body));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<ApiKeyInfo>())!;
    }
}

public sealed class ApiKeyTestsOnSqlite() : ApiKeyTests(SqliteDatabase.Instance);

[Collection(PostgresCollection.Name)]
public sealed class ApiKeyTestsOnPostgres(PostgresServer postgres) : ApiKeyTests(postgres);
