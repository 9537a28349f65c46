using System.Net;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests.Oidc;

/// <summary>`meshwire up` without an auth key: the whole browser login against a real OpenID Connect provider.</summary>
public sealed class OidcLoginTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Login_AllowedDomainUser_RegistersNodeAndMapStreamWorks()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, _) = await lab.RegisterWithoutKeyAsync("laptop");
        var authUrl = node.Registered.AuthUrl!;
        Assert.False(node.Registered.Authorized);
        Assert.StartsWith(new Uri(lab.Server.Url, "/login?token=").ToString(), authUrl, StringComparison.Ordinal);
        Assert.DoesNotContain("mkey", authUrl, StringComparison.Ordinal);
        var pushed = node.Client.WaitForLoginAsync();

        var (status, body, visited) = await lab.Browser.OpenAsync(authUrl, "alice");

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}\n{string.Join("\n", visited)}\n{lab.Idp.Errors}");
        Assert.Contains("alice@allowed.test", body, StringComparison.Ordinal);
        Assert.Contains(visited, u => u.AbsoluteUri.StartsWith(lab.Idp.Issuer + "/auth", StringComparison.Ordinal));
        var result = await pushed.WaitAsync(Patience);
        Assert.True(result.Authorized);
        Assert.Equal("alice@allowed.test", result.User);
        var user = Assert.Single(await lab.Server.Service.ListUsersAsync());
        Assert.Equal(("alice@allowed.test", lab.Idp.Issuer), (user.Login, user.Provider));

        await using var watcher = new StreamWatcher(node);
        var view = await watcher.WaitAsync(v => v.Self is not null);
        Assert.Equal(result.NodeId, view.Self!.Id);
        Assert.Equal("alice@allowed.test", view.Self.User);
    }

    [Fact]
    public async Task Login_PublicClientWithPkceOnly_RegistersNode()
    {
        await using var lab = await OidcLab.StartAsync(publicClient: true);
        var (node, _) = await lab.RegisterWithoutKeyAsync("phone");
        var pushed = node.Client.WaitForLoginAsync();

        var (status, body, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "bob");

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body}\n{lab.Idp.Errors}");
        Assert.Equal("bob@partner.test", (await pushed.WaitAsync(Patience)).User);
    }

    [Fact]
    public async Task Login_DisallowedDomain_Returns403AndCreatesNothing()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, _) = await lab.RegisterWithoutKeyAsync("intruder");

        var (status, body, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "mallory");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("mallory@other.test may not log in", body, StringComparison.Ordinal);
        Assert.Empty(await lab.Server.Service.ListUsersAsync());
        Assert.Empty(await lab.Server.Service.ListNodesAsync());
        Assert.Equal(1, lab.Server.Service.Logins.Count);
    }

    [Fact]
    public async Task Login_UnverifiedEmail_Returns403AndCreatesNothing()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, _) = await lab.RegisterWithoutKeyAsync("laptop");

        var (status, body, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "eve");

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("not verified", body, StringComparison.Ordinal);
        Assert.Empty(await lab.Server.Service.ListUsersAsync());
    }

    [Fact]
    public async Task Login_UnknownToken_Returns404Page()
    {
        await using var lab = await OidcLab.StartAsync();

        var (status, body, visited) = await lab.Browser.OpenAsync(new Uri(lab.Server.Url, "/login?token=AAAAguessed").ToString(), "alice");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("unknown or was already used", body, StringComparison.Ordinal);
        Assert.Single(visited);
    }

    [Fact]
    public async Task Login_ExpiredToken_Returns410Page()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, _) = await lab.RegisterWithoutKeyAsync("laptop");
        lab.Server.Time.Advance(TimeSpan.FromMinutes(11));

        var (status, body, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "alice");

        Assert.Equal(HttpStatusCode.Gone, status);
        Assert.Contains("expired", body, StringComparison.Ordinal);
        Assert.Empty(await lab.Server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Login_TokenUsedTwice_SecondVisitReturns404()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, _) = await lab.RegisterWithoutKeyAsync("laptop");
        Assert.Equal(HttpStatusCode.OK, (await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "alice")).Status);

        var (status, _, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "alice");

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Single(await lab.Server.Service.ListNodesAsync());
    }

    [Fact]
    public async Task Register_AgainWhilePending_SameUrlThenNodeAfterLogin()
    {
        await using var lab = await OidcLab.StartAsync();
        var (node, machine) = await lab.RegisterWithoutKeyAsync("laptop");
        var again = new RegisterRequest { NodeKey = node.NodeKey, Hostname = "laptop" };

        // A new channel (the old one reached its lifetime): the same login is still pending.
        await using (var second = await ReconnectAsync(lab, machine))
        {
            Assert.Equal(node.Registered.AuthUrl, (await second.RegisterAsync(again, node.NodePrivate)).AuthUrl);
        }

        await node.Client.DisposeAsync();
        Assert.Equal(HttpStatusCode.OK, (await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "alice")).Status);
        await using var third = await ReconnectAsync(lab, machine);
        var result = await third.RegisterAsync(again, node.NodePrivate);

        Assert.True(result.Authorized);
        Assert.Null(result.AuthUrl);
    }

    /// <summary>
    /// The server refuses a second handshake from one machine within the flood interval (20 ms, on its fake clock)
    /// and a TAI64N timestamp not newer than the last (rounded to about 17 ms, on the client's real clock).
    /// </summary>
    private static async Task<ControlClient> ReconnectAsync(OidcLab lab, MachinePrivateKey machine)
    {
        lab.Server.Time.Advance(TimeSpan.FromSeconds(1));
        await Task.Delay(50);
        return await ControlClient.ConnectAsync(lab.Server.Url, machine);
    }

    [Fact]
    public async Task Login_RequireApproval_NodeWaitsForApproval()
    {
        await using var lab = await OidcLab.StartAsync(o => o.RequireApproval = true);
        var (node, _) = await lab.RegisterWithoutKeyAsync("laptop");
        var pushed = node.Client.WaitForLoginAsync();

        var (status, body, _) = await lab.Browser.OpenAsync(node.Registered.AuthUrl!, "alice");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("approve", body, StringComparison.Ordinal);
        var result = await pushed.WaitAsync(Patience);
        Assert.False(result.Authorized);
        Assert.True(result.NeedsApproval);
        var error = await Assert.ThrowsAsync<ControlProtocolException>(() => node.Client.GetMapAsync(node.MapRequest()));
        Assert.Equal(ErrorCodes.NotApproved, error.Code);
    }

    [Fact]
    public async Task Login_SecondMachineSameUser_ReusesUser()
    {
        await using var lab = await OidcLab.StartAsync();
        var (first, _) = await lab.RegisterWithoutKeyAsync("laptop");
        var (second, _) = await lab.RegisterWithoutKeyAsync("desktop");

        Assert.Equal(HttpStatusCode.OK, (await lab.Browser.OpenAsync(first.Registered.AuthUrl!, "alice")).Status);
        Assert.Equal(HttpStatusCode.OK, (await lab.Browser.OpenAsync(second.Registered.AuthUrl!, "alice")).Status);

        Assert.Single(await lab.Server.Service.ListUsersAsync());
        Assert.Equal(2, (await lab.Server.Service.ListNodesAsync()).Count(n => n.User == "alice@allowed.test"));
    }
}
