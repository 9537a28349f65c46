namespace Meshwire.Control.Identity;

/// <summary>The identity an OpenID Connect login asserted (claims of the verified ID token and userinfo).</summary>
internal sealed record OidcIdentity(string Issuer, string Subject, string? Email, bool? EmailVerified, string? Name);

/// <summary>
/// Who may log in: with no allowed domains and no allowed users, anyone the provider vouches for; otherwise a user
/// whose email is listed, or whose email domain is listed (exact domain, no subdomains). Comparisons ignore case.
/// An email the provider marks unverified (email_verified=false) is never accepted; providers that send no
/// email_verified are trusted to assert only addresses they own.
/// </summary>
internal static class LoginPolicy
{
    /// <summary>Null when allowed; else the reason shown to the user.</summary>
    public static string? Check(OidcIdentity identity, IReadOnlyCollection<string> allowedDomains, IReadOnlyCollection<string> allowedUsers)
    {
        if (string.IsNullOrEmpty(identity.Subject))
        {
            return "the identity provider sent no subject (sub) claim";
        }

        var email = identity.Email;
        var at = email?.LastIndexOf('@') ?? -1;
        if (email is null || at <= 0 || at == email.Length - 1)
        {
            return "the identity provider sent no email address; allow the \"email\" scope for this client";
        }

        // The email becomes the login, printed by `users list` and in every node's map: a provider that lets users put
        // control or bidi-override characters in it is refused rather than rewritten, so no two logins look alike.
        if (NameValidation.FindUnsafe(email) is { } bad)
        {
            return $"the identity provider sent an email address with a control or bidi-override character ({bad}); it cannot be a login";
        }

        if (identity.Name is not null && NameValidation.CheckDisplayName(identity.Name) is { } badName)
        {
            return $"the identity provider sent a name that cannot be shown: {badName}";
        }

        if (identity.EmailVerified == false)
        {
            return $"the email address {email} is not verified at the identity provider";
        }

        if (allowedDomains.Count == 0 && allowedUsers.Count == 0)
        {
            return null;
        }

        var domain = email[(at + 1)..];
        if (allowedUsers.Any(u => string.Equals(u.Trim(), email, StringComparison.OrdinalIgnoreCase))
            || allowedDomains.Any(d => string.Equals(d.Trim().TrimStart('@'), domain, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        return $"{email} may not log in to this network (ask an administrator to allow the user or the domain {domain})";
    }
}
