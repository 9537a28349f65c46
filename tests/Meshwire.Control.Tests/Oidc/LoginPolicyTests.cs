using Meshwire.Control.Identity;

namespace Meshwire.Control.Tests.Oidc;

public sealed class LoginPolicyTests
{
    [Theory]
    [InlineData("alice@allowed.test", true, "", "", true)]
    [InlineData("alice@allowed.test", true, "allowed.test", "", true)]
    [InlineData("alice@ALLOWED.test", true, "allowed.test", "", true)]
    [InlineData("alice@sub.allowed.test", true, "allowed.test", "", false)]
    [InlineData("mallory@other.test", true, "allowed.test,b.org", "", false)]
    [InlineData("bob@partner.test", true, "allowed.test", "bob@partner.test", true)]
    [InlineData("Bob@Partner.test", true, "", "bob@partner.test", true)]
    [InlineData("carol@partner.test", true, "", "bob@partner.test", false)]
    [InlineData("eve@allowed.test", false, "allowed.test", "", false)]
    [InlineData("eve@allowed.test", false, "", "", false)]
    [InlineData("noat", true, "", "", false)]
    [InlineData("trailing@", true, "", "", false)]
    public void Check_EmailAgainstAllowLists_AllowsOnlyListed(string email, bool verified, string domains, string users, bool allowed)
    {
        var identity = new OidcIdentity("https://idp.test", "sub-1", email, verified, null);

        var refusal = LoginPolicy.Check(identity, Split(domains), Split(users));

        Assert.Equal(allowed, refusal is null);
    }

    [Fact]
    public void Check_NoEmailVerifiedClaim_TrustsProvider()
    {
        Assert.Null(LoginPolicy.Check(new OidcIdentity("https://idp.test", "s", "a@allowed.test", null, null), ["allowed.test"], []));
    }

    [Fact]
    public void Check_NoEmail_ExplainsScope()
    {
        Assert.Contains("email", LoginPolicy.Check(new OidcIdentity("https://idp.test", "s", null, null, null), [], [])!, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NoSubject_Refused()
    {
        Assert.NotNull(LoginPolicy.Check(new OidcIdentity("https://idp.test", "", "a@b.c", true, null), [], []));
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries);
}
