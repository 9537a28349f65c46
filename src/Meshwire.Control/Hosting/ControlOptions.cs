using Meshwire.Core;
namespace Meshwire.Control.Hosting;

/// <summary>Settings of a control server (command-line flags of `meshwire-control serve`, or set by tests).</summary>
public sealed class ControlOptions
{
    /// <summary>Holds control.db (SQLite), machine.key and control.sock.</summary>
    public string StateDirectory { get; set; } = "/var/lib/meshwire-control";

    /// <summary>Null: SQLite under <see cref="StateDirectory"/>; "postgres://..." or "Host=..." for PostgreSQL.</summary>
    public string? Database { get; set; }

    /// <summary>Listen URLs, e.g. "http://127.0.0.1:0".</summary>
    public IList<string> Urls { get; } = [];

    /// <summary>The URL nodes and browsers reach this server at (used in login URLs).</summary>
    public string? ServerUrl { get; set; }

    public TimeSpan NodeKeyExpiry { get; set; } = TimeSpan.FromDays(180);

    /// <summary>New nodes wait for `nodes approve` before they appear in maps.</summary>
    public bool RequireApproval { get; set; }

    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often key expiry is checked.</summary>
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An ephemeral node is deleted this long after its last stream closed.</summary>
    public TimeSpan EphemeralGrace { get; set; } = TimeSpan.FromMinutes(2);

    public string DnsSuffix { get; set; } = "mesh.internal";

    /// <summary>Largest admin API body and largest channel message a node may send.</summary>
    public int MaxRequestBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Longest life of an API key (`serve --apikey-max-lifetime`); also the default expiry of a new key. A key
    /// created through the API never outlives the key that created it either.
    /// </summary>
    public TimeSpan MaxApiKeyLifetime { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Also listen on StateDirectory/control.sock for the admin CLI (trusted by file permissions).</summary>
    public bool AdminSocket { get; set; } = true;

    /// <summary>
    /// Tell peers when a node's stream opens or closes (its Online flag). Costs O(peers) per connect, so a mass
    /// reconnect of N nodes is O(N²) records; large benchmarks turn it off.
    /// </summary>
    public bool PublishOnline { get; set; } = true;

    public OidcOptions? Oidc { get; set; }

    /// <summary>
    /// Control channel upgrades (each costs the server a Noise handshake: two X25519 operations) one source address
    /// may open (IPv6 counted per /64). Over it the upgrade gets 429 with Retry-After, before any DH.
    /// </summary>
    public RateLimit HandshakeRatePerSource { get; set; } = new(PerMinute: 600, Burst: 100);

    /// <summary>
    /// Registrations that can add or re-key a node (any with an auth key, and any that is not the renewal of a live
    /// node) one source address may send. Over it the register message is answered with rate_limited and a retry hint.
    /// </summary>
    public RateLimit RegistrationRatePerSource { get; set; } = new(PerMinute: 60, Burst: 20);

    /// <summary>Registrations with one auth key (reusable keys are the ones this bounds), from any source.</summary>
    public RateLimit RegistrationRatePerAuthKey { get; set; } = new(PerMinute: 60, Burst: 30);

    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>
    /// Where start-up warnings go (a state directory open to other users, a file whose mode was narrowed, a secret
    /// given on the command line); the CLI prints them on its error output.
    /// </summary>
    public Action<string> Warn { get; set; } = message => Console.Error.WriteLine($"meshwire-control: warning: {message}");
}

/// <summary>Interactive login through an OpenID Connect provider.</summary>
public sealed class OidcOptions
{
    public required string Issuer { get; set; }

    public required string ClientId { get; set; }

    /// <summary>From --oidc-client-secret-file, $MESHWIRE_CONTROL_OIDC_CLIENT_SECRET or (with a warning) --oidc-client-secret.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Email domains allowed to log in; empty allows any (subject to <see cref="AllowedUsers"/>).</summary>
    public IList<string> AllowedDomains { get; } = [];

    /// <summary>Emails allowed to log in; empty allows any.</summary>
    public IList<string> AllowedUsers { get; } = [];

    /// <summary>How long a login URL handed to a node stays valid.</summary>
    public TimeSpan LoginLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Accept an http:// issuer and serve the login cookies over http (loopback tests and development).</summary>
    public bool AllowInsecureIssuer { get; set; }
}

/// <summary>
/// A token bucket: <see cref="Burst"/> requests at once, then <see cref="PerMinute"/> a minute. A zero rate is
/// unlimited. Parsed from "PER_MINUTE:BURST" (or "PER_MINUTE", burst a sixth of it) on the command line.
/// </summary>
public sealed record RateLimit(int PerMinute, int Burst)
{
    public static RateLimit Unlimited { get; } = new(0, 0);

    /// <summary>A table of these buckets by key, on the monotonic clock of <paramref name="time"/>.</summary>
    internal KeyedRateLimiter<TKey> CreateLimiter<TKey>(TimeProvider time, int capacity)
        where TKey : notnull =>
        new(PerMinute / 60.0, Burst, capacity, MonotonicClock.Now(time));

    public static bool TryParse(string? text, out RateLimit limit)
    {
        limit = Unlimited;
        if (text is null)
        {
            return false;
        }

        var parts = text.Split(':');
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length is < 1 or > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, culture, out var perMinute))
        {
            return false;
        }

        var burst = Math.Max(1, perMinute / 6);
        if (parts.Length == 2 && !int.TryParse(parts[1], System.Globalization.NumberStyles.None, culture, out burst))
        {
            return false;
        }

        limit = new RateLimit(perMinute, burst);
        return true;
    }
}
