using System.Security.Claims;
using System.Text.Encodings.Web;
using Meshwire.Control.Identity;
using Meshwire.Shared;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Meshwire.Control.Hosting;

/// <summary>
/// Browser login for `meshwire up` through an OpenID Connect provider (Authorization Code flow with PKCE).
/// Flow: GET /login?token=T (T from the node's authUrl) → the login is looked up (404/410 page if unknown or
/// expired) → challenge: redirect to the provider with state (T inside, protected), nonce and code_challenge →
/// the provider redirects to /login/callback?code=…&amp;state=… → the handler redeems the code with the
/// code_verifier, validates the ID token (issuer, audience, signature, nonce, lifetime) and reads userinfo →
/// OnTicketReceived: allowed domains/users (403 page, nothing written) → <see cref="ControlService.CompleteLoginAsync"/>
/// → a "you can close this window" page. No session cookie is issued: the login only registers the node.
/// </summary>
internal static partial class OidcLogin
{
    public const string Scheme = "oidc";
    public const string LoginPath = "/login";
    public const string CallbackPath = "/login/callback";
    private const string TokenItem = "meshwire.login";

    public static void AddServices(IServiceCollection services, ControlOptions options, ControlService service)
    {
        var oidc = options.Oidc!;
        if (!oidc.AllowInsecureIssuer && !oidc.Issuer.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"the OIDC issuer {oidc.Issuer} is not https (an http issuer is accepted only on loopback)");
        }

        // State and nonce cookies are protected with these keys; keeping them in the state directory lets a login
        // started before a restart finish after it. Owner-only like the rest of the state (the key files inside get
        // the process umask, 077 in meshwire-control).
        if (SecretFile.PrepareDirectory(Path.Combine(options.StateDirectory, "login-keys")) is { } loose)
        {
            options.Warn(loose);
        }

        services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.StateDirectory, "login-keys")))
            .SetApplicationName("meshwire-control");
        services.AddAuthentication(o =>
            {
                o.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                o.DefaultChallengeScheme = Scheme;
            })
            // Only the handler's SignInScheme; never signed into, since OnTicketReceived ends every login.
            .AddCookie()
            .AddOpenIdConnect(Scheme, o =>
            {
                o.Authority = oidc.Issuer;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = string.IsNullOrEmpty(oidc.ClientSecret) ? null : oidc.ClientSecret;
                o.ResponseType = OpenIdConnectResponseType.Code;
                // The provider redirects the browser back with a GET, so the state and nonce cookies can be
                // SameSite=Lax (form_post would need SameSite=None, which browsers refuse without https).
                o.ResponseMode = OpenIdConnectResponseMode.Query;
                o.UsePkce = true;
                o.CallbackPath = CallbackPath;
                o.RequireHttpsMetadata = !oidc.AllowInsecureIssuer;
                o.MapInboundClaims = false;
                o.GetClaimsFromUserInfoEndpoint = true;
                o.SaveTokens = false;
                o.Scope.Clear();
                o.Scope.Add("openid");
                o.Scope.Add("email");
                o.Scope.Add("profile");
                o.ClaimActions.MapUniqueJsonKey("email_verified", "email_verified");
                o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SameSite = SameSiteMode.Lax;
                if (oidc.AllowInsecureIssuer)
                {
                    o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                    o.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                }

                o.Events.OnRedirectToIdentityProvider = context =>
                {
                    // Behind a proxy the request's own host is not what the provider knows: use --server-url. (The
                    // handler records this redirect_uri after the event, for the code redemption.)
                    if (options.ServerUrl is { } server)
                    {
                        context.ProtocolMessage.RedirectUri = server.TrimEnd('/') + CallbackPath;
                    }

                    return Task.CompletedTask;
                };
                o.Events.OnTicketReceived = context => CompleteAsync(context, service, oidc);
                o.Events.OnRemoteFailure = async context =>
                {
                    context.HandleResponse();
                    await WritePageAsync(context.Response, StatusCodes.Status400BadRequest, "Login failed",
                        $"The identity provider did not complete the login: {context.Failure?.Message}. Open the login link from `meshwire up` again.");
                };
            });
    }

    public static void Map(WebApplication app, ControlService service)
    {
        app.UseAuthentication();
        app.MapGet(LoginPath, async (HttpContext context, string? token) =>
        {
            switch (service.Logins.Find(token, service.Now, out _))
            {
                case LoginLookup.Unknown:
                    await WritePageAsync(context.Response, StatusCodes.Status404NotFound, "Unknown login link",
                        "This login link is unknown or was already used. Run `meshwire up` again for a new one.");
                    return;
                case LoginLookup.Expired:
                    await WritePageAsync(context.Response, StatusCodes.Status410Gone, "Login link expired",
                        "This login link expired. Run `meshwire up` again for a new one.");
                    return;
            }

            var properties = new AuthenticationProperties { RedirectUri = LoginPath + "/done" };
            properties.Items[TokenItem] = token;
            await context.ChallengeAsync(Scheme, properties);
        });
    }

    private static async Task CompleteAsync(TicketReceivedContext context, ControlService service, OidcOptions oidc)
    {
        context.HandleResponse();
        var principal = context.Principal!;
        var token = context.Properties?.Items.TryGetValue(TokenItem, out var t) == true ? t : null;
        var identity = new OidcIdentity(
            principal.FindFirstValue("iss") ?? oidc.Issuer,
            principal.FindFirstValue("sub") ?? "",
            principal.FindFirstValue("email"),
            principal.FindFirstValue("email_verified") is { } verified ? string.Equals(verified, "true", StringComparison.OrdinalIgnoreCase) : null,
            principal.FindFirstValue("name"));
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Meshwire.Control.Login");
        if (LoginPolicy.Check(identity, [.. oidc.AllowedDomains], [.. oidc.AllowedUsers]) is { } refusal)
        {
            Log.Refused(logger, identity.Email ?? identity.Subject, refusal);
            await WritePageAsync(context.Response, StatusCodes.Status403Forbidden, "Login refused", refusal);
            return;
        }

        try
        {
            var (result, user) = await service.CompleteLoginAsync(token ?? "", identity, context.HttpContext.RequestAborted);
            Log.Completed(logger, user.Login, result.NodeId ?? "", result.NeedsApproval);
            var approval = result.NeedsApproval ? " It waits for an administrator to approve it." : "";
            await WritePageAsync(context.Response, StatusCodes.Status200OK, "Logged in",
                $"Logged in as {user.Login}. The node is registered as {result.NodeId}.{approval} You can close this window.");
        }
        catch (ControlException e)
        {
            Log.Refused(logger, identity.Email ?? identity.Subject, e.Message);
            var status = e.Code == Protocol.ErrorCodes.NotFound ? StatusCodes.Status410Gone : StatusCodes.Status409Conflict;
            await WritePageAsync(context.Response, status, "Login not completed", e.Message);
        }
    }

    private static async Task WritePageAsync(HttpResponse response, int status, string title, string message)
    {
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        var html = HtmlEncoder.Default;
        await response.WriteAsync(
            $"<!doctype html><html><head><meta charset=\"utf-8\"><title>Meshwire: {html.Encode(title)}</title></head>" +
            $"<body><h1>{html.Encode(title)}</h1><p>{html.Encode(message)}</p></body></html>");
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "login of {Login} registered node {NodeId} (needs approval: {NeedsApproval})")]
        public static partial void Completed(ILogger logger, string login, string nodeId, bool needsApproval);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "login of {Who} refused: {Reason}")]
        public static partial void Refused(ILogger logger, string who, string reason);
    }
}
