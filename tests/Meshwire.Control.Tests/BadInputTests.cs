using System.Net;
using System.Net.Http.Json;
using System.Text;
using Meshwire.Control.Api;
using Meshwire.Control.Client;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests;

public abstract class BadInputTests(ITestDatabase database) : DatabaseTests(database)
{
    [DbFact]
    public async Task Register_OneOffKeyReplayed_AuthKeyUsedAndNoNewNode()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync();
        await server.JoinAsync("first", key);
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => server.JoinAsync("second", key));
        Assert.Equal(ErrorCodes.AuthKeyUsed, e.Code);
        Assert.Single(await server.Service.ListNodesAsync());
    }

    [DbFact]
    public async Task Register_ExpiredKey_AuthKeyExpiredAndNoNode()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync();
        server.Time.Advance(TimeSpan.FromHours(2));
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => server.JoinAsync("late", key));
        Assert.Equal(ErrorCodes.AuthKeyExpired, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
        Assert.Equal(0, (await server.Service.ListAuthKeysAsync()).Single().UseCount);
    }

    [DbTheory]
    [InlineData("mwauth-000000000000-0000")]
    [InlineData("not-a-key")]
    [InlineData("mwauth-0123456789ab-0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task Register_MalformedOrUnknownKey_AuthKeyInvalid(string key)
    {
        await using var server = await StartAsync();
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => server.JoinAsync("x", key));
        Assert.Equal(ErrorCodes.AuthKeyInvalid, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [DbFact]
    public async Task Register_RevokedKey_AuthKeyInvalid()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync(reusable: true);
        await server.Service.RevokeAuthKeyAsync(key.Split('-')[1]);
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => server.JoinAsync("x", key));
        Assert.Equal(ErrorCodes.AuthKeyInvalid, e.Code);
    }

    [DbFact]
    public async Task MapRequest_UnknownMachine_UnknownMachineError()
    {
        await using var server = await StartAsync();
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodeKey = X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey());
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() =>
            client.GetMapAsync(new MapRequest { NodeKey = nodeKey, DiscoKey = new Meshwire.Core.DiscoPublicKey(nodeKey.Value) }));
        Assert.Equal(ErrorCodes.UnknownMachine, e.Code);
    }

    [DbFact]
    public async Task Connect_WrongServerKey_HandshakeFails()
    {
        await using var server = await StartAsync();
        var wrong = ControlClient.PublicKeyOf(ControlClient.GenerateMachineKey());
        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey(), wrong));
        Assert.Equal(ErrorCodes.Unauthorized, e.Code);
    }

    [DbTheory]
    [InlineData("{\"type\":\"register\"")]
    [InlineData("{\"type\":\"register\",\"nodeKey\":\"nodekey:00\",\"hostname\":\"a\"}")]
    [InlineData("{\"type\":\"register\",\"nodeKey\":\"mkey:0000000000000000000000000000000000000000000000000000000000000000\",\"hostname\":\"a\"}")]
    [InlineData("{\"type\":\"unknown\"}")]
    public void Deserialize_MalformedOrWrongKeyLength_FailsWithoutThrowing(string json)
    {
        Assert.False(ProtocolJson.TryDeserialize(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.NotNull(error);
    }

    [DbFact]
    public async Task AdminApi_NoOrBadApiKey_Unauthorized()
    {
        await using var server = await StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/v1/nodes")).StatusCode);
        http.DefaultRequestHeaders.Authorization = new("Bearer", "mwapi-000000000000-" + new string('0', 64));
        var response = await http.GetAsync("/api/v1/nodes");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(ErrorCodes.Unauthorized, (await response.Content.ReadFromJsonAsync<ApiError>())!.Code);
    }

    [DbFact]
    public async Task AdminApi_MalformedJsonAndOversizedBody_ClearErrorsAndNothingWritten()
    {
        await using var server = await StartAsync(o => o.MaxRequestBytes = 4096);
        using var http = await ApiClientAsync(server);
        var malformed = await http.PostAsync("/api/v1/users", new StringContent("{\"login\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(ErrorCodes.BadRequest, (await malformed.Content.ReadFromJsonAsync<ApiError>())!.Code);

        var huge = await http.PostAsync("/api/v1/users", new StringContent("{\"login\":\"" + new string('a', 10000) + "\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal(ErrorCodes.TooLarge, (await huge.Content.ReadFromJsonAsync<ApiError>())!.Code);
        Assert.Empty(await server.Service.ListUsersAsync());
    }

    [DbFact]
    public async Task AdminApi_CreateUserAndAuthKey_ListsThemAndServesOpenApi()
    {
        await using var server = await StartAsync();
        using var http = await ApiClientAsync(server);
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsJsonAsync("/api/v1/users", new CreateUserRequest("carol", null))).StatusCode);
        var conflict = await http.PostAsJsonAsync("/api/v1/users", new CreateUserRequest("carol", null));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var key = await (await http.PostAsJsonAsync("/api/v1/authkeys", new CreateAuthKeyRequest("carol", Reusable: true))).Content.ReadFromJsonAsync<AuthKeyInfo>();
        Assert.StartsWith("mwauth-", key!.Key, StringComparison.Ordinal);
        var listed = await http.GetFromJsonAsync<List<AuthKeyInfo>>("/api/v1/authkeys");
        Assert.Null(Assert.Single(listed!).Key);
        var openapi = await http.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/v1/nodes", openapi, StringComparison.Ordinal);
        var badPolicy = await http.PutAsJsonAsync("/api/v1/policy", new SetPolicyRequest("{\"acls\": [}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, badPolicy.StatusCode);
    }

    private static async Task<HttpClient> ApiClientAsync(TestServer server)
    {
        var key = await server.Service.CreateApiKeyAsync();
        var http = new HttpClient { BaseAddress = server.Url };
        http.DefaultRequestHeaders.Authorization = new("Bearer", key.Key);
        return http;
    }
}

public sealed class BadInputTestsOnSqlite() : BadInputTests(SqliteDatabase.Instance);

[Collection(PostgresCollection.Name)]
public sealed class BadInputTestsOnPostgres(PostgresServer postgres) : BadInputTests(postgres);
