using Meshwire.Shared;

namespace Meshwire.Control.Hosting;

/// <summary>
/// The secrets of `meshwire-control`: the database URL (its password) and the OIDC client secret, each from a file
/// (--db-file, --oidc-client-secret-file: a 0600 file or a systemd credential), the environment
/// ($MESHWIRE_CONTROL_DB, $MESHWIRE_CONTROL_OIDC_CLIENT_SECRET) or, with a warning, the command line.
/// </summary>
public static class ControlSecrets
{
    public const string DatabaseVariable = "MESHWIRE_CONTROL_DB";

    public const string OidcSecretVariable = "MESHWIRE_CONTROL_OIDC_CLIENT_SECRET";

    /// <summary>The --db value from <paramref name="arg"/>, <paramref name="file"/> or the environment; warns when argv holds a password.</summary>
    public static string? Database(string? arg, string? file, Action<string> warn)
    {
        var secret = SecretFile.Resolve("--db", arg, file, DatabaseVariable);
        if (secret.Value is { } db && HasPassword(db) && secret.Warning is { } argv)
        {
            warn(argv);
        }
        else if (file is not null && secret.Warning is { } mode)
        {
            warn(mode);
        }

        return secret.Value;
    }

    /// <summary>The OIDC client secret from <paramref name="arg"/>, <paramref name="file"/> or the environment.</summary>
    public static string? OidcClientSecret(string? arg, string? file, Action<string> warn)
    {
        var secret = SecretFile.Resolve("--oidc-client-secret", arg, file, OidcSecretVariable);
        if (secret.Warning is { } warning)
        {
            warn(warning);
        }

        return secret.Value;
    }

    // postgres://user:PASSWORD@host/db, or Password= in a connection string; a sqlite: path holds no secret.
    private static bool HasPassword(string db) =>
        db.Contains("password=", StringComparison.OrdinalIgnoreCase) ||
        (Uri.TryCreate(db, UriKind.Absolute, out var uri) && uri.UserInfo.Contains(':', StringComparison.Ordinal));
}
