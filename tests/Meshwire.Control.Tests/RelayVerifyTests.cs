using System.Net;
using Meshwire.Core;

namespace Meshwire.Control.Tests;

/// <summary>GET /api/v1/relay/verify answers relays started with --verify-clients.</summary>
public sealed class RelayVerifyTests
{
    [Fact]
    public async Task Verify_KnownActiveNode_Ok_UnknownOrExpired_NotFound_Malformed_BadRequest()
    {
        await using var server = await TestServer.StartAsync();
        var node = await server.JoinAsync("alpha");
        using var http = new HttpClient { BaseAddress = server.Url };

        var known = await http.GetAsync($"/api/v1/relay/verify?nodekey={node.NodeKey.Value.ToHex()}");
        Assert.Equal(HttpStatusCode.OK, known.StatusCode);

        var stranger = new NodePublicKey(Key32.FromSpan(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/relay/verify?nodekey={stranger.Value.ToHex()}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v1/relay/verify?nodekey=zz")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync("/api/v1/relay/verify")).StatusCode);

        await server.Service.ExpireNodeAsync("alpha");
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/api/v1/relay/verify?nodekey={node.NodeKey.Value.ToHex()}")).StatusCode);
    }
}
