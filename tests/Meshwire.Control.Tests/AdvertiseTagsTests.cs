using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests;

/// <summary>meshwire up --advertise-tags: RegisterRequest.Tags against the auth key's tags and the policy's tagOwners.</summary>
public sealed class AdvertiseTagsTests
{
    private const string Policy = """
        {
          "groups": {"group:ops": ["bob@example.com"]},
          "tagOwners": {"tag:web": ["alice@example.com"], "tag:db": ["group:ops"], "tag:ci": ["carol@example.com"]},
          "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]}]
        }
        """;

    [Theory]
    [InlineData("alice@example.com", "tag:web")]
    [InlineData("bob@example.com", "tag:db")]
    public async Task Register_TagOwnedByUserOrGroup_NodeCarriesIt(string user, string tag)
    {
        await using var server = await StartAsync();
        var result = await RegisterAsync(server, await server.AuthKeyAsync(user), [tag]);

        Assert.True(result.Authorized);
        Assert.Equal([tag], (await NodeAsync(server, result)).Tags);
    }

    [Fact]
    public async Task Register_TagNotOwned_RefusedAndNoNodeCreated()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync("alice@example.com");

        var e = await Assert.ThrowsAsync<ControlProtocolException>(() => RegisterAsync(server, key, ["tag:ci"]));

        Assert.Equal(ErrorCodes.TagNotOwned, e.Code);
        Assert.Empty(await server.Service.ListNodesAsync());
    }

    [Theory]
    [InlineData("web")]
    [InlineData("tag:")]
    [InlineData("tag:a,b")]
    public async Task Register_MalformedTag_BadRequest(string tag)
    {
        await using var server = await StartAsync();
        var e = await Assert.ThrowsAsync<ControlProtocolException>(async () => await RegisterAsync(server, await server.AuthKeyAsync("alice@example.com"), [tag]));
        Assert.Equal(ErrorCodes.BadRequest, e.Code);
    }

    [Fact]
    public async Task Register_TaggedKeyPlusOwnedTag_NodeCarriesBoth()
    {
        await using var server = await StartAsync();
        var key = await server.AuthKeyAsync("alice@example.com", tags: ["tag:ci"]);
        var result = await RegisterAsync(server, key, ["tag:web"]);
        Assert.Equal(["tag:ci", "tag:web"], (await NodeAsync(server, result)).Tags);
    }

    [Fact]
    public async Task Renew_WithChangedTags_UpdatesTheNode()
    {
        await using var server = await StartAsync();
        var machine = ControlClient.GenerateMachineKey();
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
        await using var client = await ControlClient.ConnectAsync(server.Url, machine);
        var first = await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = "web1", AuthKey = await server.AuthKeyAsync("alice@example.com") }, nodePrivate);
        Assert.Empty((await NodeAsync(server, first)).Tags);

        var renewed = await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = "web1", Tags = ["tag:web"] }, nodePrivate);

        Assert.True(renewed.Authorized);
        var node = await NodeAsync(server, renewed);
        Assert.Equal(["tag:web"], node.Tags);
        Assert.Null(node.KeyExpiry);
    }

    private static async Task<TestServer> StartAsync()
    {
        var server = await TestServer.StartAsync();
        foreach (var user in new[] { "alice@example.com", "bob@example.com", "carol@example.com" })
        {
            await server.Service.CreateUserAsync(user);
        }

        await server.Service.SetPolicyAsync(Policy);
        return server;
    }

    private static async Task<RegisterResult> RegisterAsync(TestServer server, string authKey, IReadOnlyList<string> tags)
    {
        await using var client = await ControlClient.ConnectAsync(server.Url, ControlClient.GenerateMachineKey());
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        return await client.RegisterAsync(
            new RegisterRequest
            {
                NodeKey = X25519Keys.PublicKeyOf(nodePrivate),
                Hostname = "node",
                AuthKey = authKey,
                Tags = tags,
            },
            nodePrivate);
    }

    private static async Task<Api.NodeInfo> NodeAsync(TestServer server, RegisterResult result) =>
        (await server.Service.ListNodesAsync()).Single(n => n.Id == result.NodeId);
}
