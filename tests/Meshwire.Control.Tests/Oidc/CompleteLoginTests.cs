using Meshwire.Control.Client;
using Meshwire.Control.Hosting;
using Meshwire.Control.Identity;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests.Oidc;

/// <summary>What a completed login writes, without a provider: ControlService.CompleteLoginAsync directly.</summary>
public sealed class CompleteLoginTests
{
    private const string Issuer = "https://idp.test";

    private static Task<TestServer> StartAsync() => TestServer.StartAsync(o => o.Oidc = new OidcOptions { Issuer = Issuer, ClientId = "meshwire" });

    private static string Token(RegisterResult result) => result.AuthUrl![(result.AuthUrl!.IndexOf("token=", StringComparison.Ordinal) + 6)..];

    [Fact]
    public async Task CompleteLogin_AdminCreatedUserWithSameLogin_AdoptsUser()
    {
        await using var server = await StartAsync();
        var created = await server.Service.CreateUserAsync("alice@allowed.test");
        var machine = ControlClient.GenerateMachineKey();
        await using var client = await ControlClient.ConnectAsync(server.Url, machine);
        var nodePrivate = NewNodeKey();
        var registered = await client.RegisterAsync(new RegisterRequest { NodeKey = default, Hostname = "laptop" }, nodePrivate);

        var (result, user) = await server.Service.CompleteLoginAsync(Token(registered), new OidcIdentity(Issuer, "sub-a", "Alice@Allowed.test", true, "Alice"));

        Assert.True(result.Authorized);
        Assert.Equal((created.Id, Issuer), (user.Id, user.Provider));
    }

    [Fact]
    public async Task CompleteLogin_LoginOwnedByOtherIdentity_RefusedAndNothingWritten()
    {
        await using var server = await StartAsync();
        var machine = ControlClient.GenerateMachineKey();
        await using var client = await ControlClient.ConnectAsync(server.Url, machine);
        var first = await client.RegisterAsync(new RegisterRequest { NodeKey = default, Hostname = "laptop" }, NewNodeKey());
        await server.Service.CompleteLoginAsync(Token(first), new OidcIdentity(Issuer, "sub-a", "alice@allowed.test", true, null));
        var other = await server.JoinAsync("other", await server.AuthKeyAsync("admin"));
        await server.Service.ExpireNodeAsync(other.Registered.NodeId!);
        var again = await other.Client.RegisterAsync(new RegisterRequest { NodeKey = other.NodeKey, Hostname = "other" }, other.NodePrivate);

        var error = await Assert.ThrowsAsync<ControlException>(() =>
            server.Service.CompleteLoginAsync(Token(again), new OidcIdentity(Issuer, "sub-b", "alice@allowed.test", true, null)));

        Assert.Equal(ErrorCodes.Conflict, error.Code);
        Assert.Equal(2, (await server.Service.ListUsersAsync()).Count);
        Assert.Equal("admin", (await server.Service.ListNodesAsync()).Single(n => n.Id == other.Registered.NodeId).User);
    }

    [Fact]
    public async Task CompleteLogin_ExpiredTaggedNode_BecomesUserNodeWithSameId()
    {
        await using var server = await StartAsync();
        var node = await server.JoinAsync("server1", await server.AuthKeyAsync("admin", tags: ["tag:server"]));
        await server.Service.ExpireNodeAsync(node.Registered.NodeId!);
        var again = await node.Client.RegisterAsync(new RegisterRequest { NodeKey = node.NodeKey, Hostname = "server1" }, node.NodePrivate);
        Assert.Equal(node.Registered.NodeId, again.NodeId);

        var (result, _) = await server.Service.CompleteLoginAsync(Token(again), new OidcIdentity(Issuer, "sub-a", "alice@allowed.test", true, null));

        var info = (await server.Service.ListNodesAsync()).Single();
        Assert.Equal((node.Registered.NodeId, true), (result.NodeId, result.Authorized));
        Assert.Equal(("alice@allowed.test", false), (info.User, info.Expired));
        Assert.Empty(info.Tags);
        Assert.NotNull(info.KeyExpiry);
    }

    [Fact]
    public async Task CompleteLogin_UnknownToken_RefusedAndNothingWritten()
    {
        await using var server = await StartAsync();

        var error = await Assert.ThrowsAsync<ControlException>(() =>
            server.Service.CompleteLoginAsync("nope", new OidcIdentity(Issuer, "sub-a", "alice@allowed.test", true, null)));

        Assert.Equal(ErrorCodes.NotFound, error.Code);
        Assert.Empty(await server.Service.ListUsersAsync());
    }

    /// <summary>A fresh node private key; the client sets the request's NodeKey to its public half.</summary>
    private static Meshwire.Core.NodePrivateKey NewNodeKey() => Meshwire.WireGuard.Noise.X25519Keys.GeneratePrivateKey();
}
