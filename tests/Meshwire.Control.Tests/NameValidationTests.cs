using System.Net;
using System.Net.Http.Json;
using Meshwire.Control.Api;
using Meshwire.Control.Identity;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests;

/// <summary>Logins, display names and hostnames refuse control and bidi characters at every entry point; printing escapes them.</summary>
public sealed class NameValidationTests
{
    /// <summary>NUL, ESC, DEL, C1 NEL and CSI, RLO, LRI/PDI, ALM, LRM, ZWSP, line separator, a lone surrogate.</summary>
    public static TheoryData<string> Unsafe => new()
    {
        "a\0b", "a\u001b[31mb", "a\u007fb", "a\u0085b", "a\u009bb", "gpj\u202Eexe", "a\u2066b\u2069", "a\u061cb", "a\u200eb", "a\u200bb", "a\u2028b",
    };

    [Theory]
    [MemberData(nameof(Unsafe))]
    public void Check_ControlOrBidiCharacter_Refused(string text)
    {
        Assert.NotNull(NameValidation.CheckLogin(text));
        Assert.NotNull(NameValidation.CheckDisplayName(text));
        Assert.NotNull(NameValidation.CheckHostname(text));
        Assert.NotNull(NameValidation.FindUnsafe(text));
    }

    [Fact]
    public void Check_LoneSurrogate_RefusedAndEscaped()
    {
        // Not theory data: a lone surrogate does not survive the test runner's serialization.
        var text = "a" + '\ud800' + "b";
        Assert.NotNull(NameValidation.CheckLogin(text));
        Assert.Equal(@"a\u{D800}b", NameValidation.Printable(text));
    }

    [Theory]
    [InlineData("alice@example.com")]
    [InlineData("josé@example.com")]
    [InlineData("用户@例子.中国")]
    [InlineData("שלום@example.com")]
    [InlineData("emoji😀")]
    public void Check_OrdinaryText_Accepted(string text)
    {
        Assert.Null(NameValidation.CheckLogin(text));
        Assert.Null(NameValidation.CheckDisplayName(text));
        Assert.Null(NameValidation.CheckHostname(text));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void CheckHostname_Empty_Refused(string? hostname) => Assert.NotNull(NameValidation.CheckHostname(hostname));

    [Fact]
    public void CheckHostname_Over255_Refused() => Assert.NotNull(NameValidation.CheckHostname(new string('a', 256)));

    [Theory]
    [MemberData(nameof(Unsafe))]
    public void Printable_Unsafe_EscapedAndNothingUnsafeLeft(string text)
    {
        var printed = NameValidation.Printable(text);
        Assert.Null(NameValidation.FindUnsafe(printed));
        Assert.Contains(@"\u{", printed, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\u001bb", @"a\u{001B}b")]
    [InlineData(@"a\u{001B}b", @"a\\u{001B}b")]
    [InlineData("emoji😀", "emoji😀")]
    public void Printable_Examples(string text, string expected) => Assert.Equal(expected, NameValidation.Printable(text));

    [Theory]
    [InlineData("eve\u001b[2J@example.com", null)]
    [InlineData("gpj\u202Eexe@example.com", null)]
    [InlineData("eve@example.com", "Eve\u0000")]
    public void LoginPolicy_ProviderSendsControls_RefusedWithAReason(string email, string? name)
    {
        var refusal = LoginPolicy.Check(new OidcIdentity("https://idp.test", "sub", email, true, name), [], []);

        Assert.NotNull(refusal);
        Assert.Contains("control or bidi-override", refusal, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateUser_RestWithBidiOverride_400AndNoUser()
    {
        await using var server = await TestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.Url };
        http.DefaultRequestHeaders.Authorization = new("Bearer", (await server.Service.CreateApiKeyAsync()).Key);

        using var response = await http.PostAsJsonAsync("/api/v1/users", new CreateUserRequest("admin\u202Enimda", null));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await response.Content.ReadFromJsonAsync<ApiError>();
        Assert.Equal(ErrorCodes.BadRequest, error!.Code);
        Assert.Contains("U+202E", error.Message, StringComparison.Ordinal);
        Assert.Empty(await server.Service.ListUsersAsync());
    }
}
