using Meshwire.Control.Client;
using Meshwire.Control.Hosting;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests.Oidc;

/// <summary>A control server with OIDC login against a real <see cref="TestIdentityProvider"/>, and a browser.</summary>
internal sealed class OidcLab : IAsyncDisposable
{
    public const string ClientId = "meshwire";
    public const string ClientSecret = "meshwire-test-secret";

    private OidcLab(TestIdentityProvider idp, TestServer server)
    {
        Idp = idp;
        Server = server;
    }

    public TestIdentityProvider Idp { get; }

    public TestServer Server { get; }

    public TestBrowser Browser { get; } = new();

    public static async Task<OidcLab> StartAsync(Action<ControlOptions>? configure = null, bool publicClient = false)
    {
        var idp = await TestIdentityProvider.StartAsync();
        try
        {
            var server = await TestServer.StartAsync(options =>
            {
                var oidc = new OidcOptions
                {
                    Issuer = idp.Issuer,
                    ClientId = ClientId,
                    ClientSecret = publicClient ? null : ClientSecret,
                    AllowInsecureIssuer = true,
                };
                oidc.AllowedDomains.Add("allowed.test");
                oidc.AllowedUsers.Add("bob@partner.test");
                options.Oidc = oidc;
                configure?.Invoke(options);
            });
            await idp.ConfigureAsync(ClientId, publicClient ? null : ClientSecret, new Uri(server.Url, OidcLogin.CallbackPath));
            return new OidcLab(idp, server);
        }
        catch
        {
            await idp.DisposeAsync();
            throw;
        }
    }

    /// <summary>A node that registered without an auth key: connected, holding its authUrl.</summary>
    public async Task<(TestNode Node, MachinePrivateKey Machine)> RegisterWithoutKeyAsync(string hostname)
    {
        var machine = ControlClient.GenerateMachineKey();
        var client = await ControlClient.ConnectAsync(Server.Url, machine);
        var nodePrivate = X25519Keys.GeneratePrivateKey();
        var nodeKey = X25519Keys.PublicKeyOf(nodePrivate);
        var result = await client.RegisterAsync(new RegisterRequest { NodeKey = nodeKey, Hostname = hostname }, nodePrivate);
        return (new TestNode(client, nodeKey, new DiscoPublicKey(X25519Keys.PublicKeyOf(X25519Keys.GeneratePrivateKey()).Value), result) { NodePrivate = nodePrivate }, machine);
    }

    public async ValueTask DisposeAsync()
    {
        Browser.Dispose();
        await Server.DisposeAsync();
        await Idp.DisposeAsync();
    }
}
