using System.Globalization;
using System.Text.Json;
using Meshwire.Control.Api;
using Meshwire.Control.Hosting;
using Meshwire.Control.Identity;
using Meshwire.Policy.Commands;
using Microsoft.Extensions.Logging;

namespace Meshwire.Control.Cli;

/// <summary>
/// `meshwire-control` verbs. Exit codes: 0 ok, 1 the request was refused (the message says why and what to do),
/// 2 usage error. Human output by default, --json for scripts.
/// </summary>
public static class ControlProgram
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    /// <summary>The largest relay map file `relays set` reads (the admin API's default body limit).</summary>
    private const int MaxRelayFileBytes = 1 << 20;

    private const string Usage = """
        usage: meshwire-control [--state DIR] [--db URL] [--json] VERB ...
          serve [--listen URL]... [--server-url URL] [--require-approval] [--apikey-max-lifetime DURATION (default 90d)]
                [--oidc-issuer URL --oidc-client-id ID [--oidc-client-secret-file PATH] [--oidc-allowed-domains a.com,b.org] [--oidc-allowed-users alice@x.com,...]]
                [--handshake-rate N[:BURST]] [--register-rate N[:BURST]] [--register-rate-authkey N[:BURST]]   (per minute; 0 = unlimited)
          users create LOGIN | users list
          authkeys create --user LOGIN [--reusable] [--ephemeral] [--tag tag:x]... [--expiry SECONDS] | authkeys list | authkeys revoke ID|PREFIX
          nodes list | nodes rename NODE NAME | nodes expire NODE | nodes delete NODE | nodes approve NODE
          apikeys create [--expiry SECONDS] [--name NAME] | apikeys list | apikeys revoke ID|PREFIX
          policy get | policy set FILE | policy check FILE | policy explain SRC DST:PORT [--proto tcp]
          relays list | relays set FILE   (FILE: a JSON array of {regionId, regionCode, regionName, hostName, ipv4, ipv6,
                                           port, stunPort, insecureHttp}, the body of PUT /api/v1/relays)
        --state defaults to $MESHWIRE_CONTROL_STATE or /var/lib/meshwire-control; --db takes postgres://user:pass@host:port/db.
        Secrets by file or environment (the command line is visible to every local user): --db-file PATH or
        $MESHWIRE_CONTROL_DB; --oidc-client-secret-file PATH or $MESHWIRE_CONTROL_OIDC_CLIENT_SECRET.
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        var output = stdout ?? Console.Out;
        var errors = stderr ?? Console.Error;
        var rest = new List<string>(args);
        var options = new ControlOptions { StateDirectory = Environment.GetEnvironmentVariable("MESHWIRE_CONTROL_STATE") ?? "/var/lib/meshwire-control" };
        var json = false;
        try
        {
            options.StateDirectory = Take(rest, "--state") ?? options.StateDirectory;
            options.Warn = message => errors.WriteLine($"meshwire-control: warning: {message}");
            options.Database = ControlSecrets.Database(Take(rest, "--db"), Take(rest, "--db-file"), options.Warn);
            json = TakeFlag(rest, "--json");
            if (rest.Count == 0)
            {
                errors.WriteLine(Usage);
                return ExitUsage;
            }

            if (rest[0] is "-h" or "--help" or "help")
            {
                output.WriteLine(Usage);
                return ExitOk;
            }

            var verb = rest[0];
            rest.RemoveAt(0);
            if (verb == "serve")
            {
                return await ServeAsync(options, rest, output);
            }

            if (verb == "policy" && rest.Count == 2 && rest[0] == "check")
            {
                return PolicyCommands.Check(rest[1], output);
            }

            var sub = rest.Count > 0 ? rest[0] : "";
            if (rest.Count > 0)
            {
                rest.RemoveAt(0);
            }

            await using var admin = await IAdmin.OpenAsync(options);
            return await RunVerbAsync(admin, verb, sub, rest, output, json);
        }
        catch (ControlException e)
        {
            errors.WriteLine($"meshwire-control: {e.Code}: {Safe(e.Message)}");
            return ExitFailed;
        }
        catch (UsageException e)
        {
            errors.WriteLine($"meshwire-control: {Safe(e.Message)}");
            errors.WriteLine(Usage);
            return ExitUsage;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or JsonException)
        {
            errors.WriteLine($"meshwire-control: {Safe(e.Message)}");
            return ExitFailed;
        }
    }

    private static async Task<int> RunVerbAsync(IAdmin admin, string verb, string sub, List<string> rest, TextWriter output, bool json)
    {
        switch (verb, sub)
        {
            case ("users", "create"):
                return Print(output, json, await admin.CreateUserAsync(One(rest, "LOGIN")), u => $"created user {Safe(u.Login)} (id {u.Id})");
            case ("users", "list"):
                // Logins and providers come from outside (OIDC): anything unprintable is escaped, never sent to the terminal.
                return PrintList(output, json, await admin.ListUsersAsync(), u => $"{u.Id,-5} {Safe(u.Login),-30} {Safe(u.Provider)}");
            case ("authkeys", "create"):
                var request = new CreateAuthKeyRequest(
                    Take(rest, "--user") ?? throw new UsageException("authkeys create needs --user LOGIN"),
                    TakeFlag(rest, "--reusable"),
                    TakeFlag(rest, "--ephemeral"),
                    TakeAll(rest, "--tag"),
                    Seconds(Take(rest, "--expiry")) ?? 3600);
                return Print(output, json, await admin.CreateAuthKeyAsync(request), k => k.Key!);
            case ("authkeys", "list"):
                return PrintList(output, json, await admin.ListAuthKeysAsync(), k =>
                    $"{k.Id,-5} {k.Prefix} {Safe(k.User),-20} {(k.Reusable ? "reusable" : "one-off"),-9} {(k.Ephemeral ? "ephemeral " : "")}{Safe(string.Join(',', k.Tags))} expires {k.ExpiresAt:u} used {k.UseCount}{(k.Revoked ? " REVOKED" : "")}");
            case ("authkeys", "revoke"):
                return Print(output, json, await admin.RevokeAuthKeyAsync(One(rest, "ID|PREFIX")), k => $"revoked auth key {k.Prefix}");
            case ("nodes", "list"):
                return PrintList(output, json, await admin.ListNodesAsync(), n =>
                    $"{n.Id} {Safe(n.Name),-20} {n.IPv4,-15} {Safe(n.User),-20} {Safe(string.Join(',', n.Tags)),-12} {(n.Online ? "online" : "offline")}{(n.Approved ? "" : " needs-approval")}{(n.Expired ? " expired" : "")}");
            case ("nodes", "rename"):
                if (rest.Count != 2)
                {
                    throw new UsageException("nodes rename NODE NAME");
                }

                return Print(output, json, await admin.RenameNodeAsync(rest[0], rest[1]), n => $"renamed {n.Id} to {Safe(n.Name)}");
            case ("nodes", "expire"):
                return Print(output, json, await admin.ExpireNodeAsync(One(rest, "NODE")), n => $"expired {Safe(n.Name)}: its key left every map");
            case ("nodes", "approve"):
                return Print(output, json, await admin.ApproveNodeAsync(One(rest, "NODE")), n => $"approved {Safe(n.Name)}");
            case ("nodes", "delete"):
                var node = One(rest, "NODE");
                await admin.DeleteNodeAsync(node);
                output.WriteLine($"deleted {Safe(node)}");
                return ExitOk;
            case ("apikeys", "create"):
                var expiry = Seconds(Take(rest, "--expiry"));
                var name = Take(rest, "--name");
                NoMore(rest, "apikeys create");
                return Print(output, json, await admin.CreateApiKeyAsync(expiry, name), k => k.Key!);
            case ("apikeys", "list"):
                NoMore(rest, "apikeys list");
                return PrintList(output, json, await admin.ListApiKeysAsync(), k =>
                    $"{k.Id,-5} {k.Prefix} {(k.Name.Length > 0 ? Safe(k.Name) : "-"),-16} by {k.CreatedBy,-19} created {k.CreatedAt:u} expires {k.ExpiresAt:u} "
                    + $"last used {(k.LastUsed is { } used ? used.ToString("u", CultureInfo.InvariantCulture) : "never")}{(k.RevokedAt is { } revoked ? $" REVOKED {revoked:u}" : "")}");
            case ("apikeys", "revoke"):
                return Print(output, json, await admin.RevokeApiKeyAsync(One(rest, "ID|PREFIX")), k => $"revoked API key {k.Id} ({k.Prefix}) and the keys it created");
            case ("policy", "get"):
                var policy = await admin.GetPolicyAsync();
                output.WriteLine(json ? JsonSerializer.Serialize(policy, CliJson.Options) : policy.Text);
                return ExitOk;
            case ("policy", "set"):
                var text = ReadFile(One(rest, "FILE"), PolicyFile.MaxBytes, "a policy (HuJSON text)");
                return Print(output, json, await admin.SetPolicyAsync(text), p => $"policy updated at {p.UpdatedAt:u}");
            case ("policy", "explain"):
                var protocol = Take(rest, "--proto") ?? "tcp";
                if (rest.Count != 2)
                {
                    throw new UsageException("policy explain SRC DST:PORT");
                }

                var explained = await admin.ExplainAsync(rest[0], rest[1], protocol);
                Print(output, json, explained, e => e.Message);
                return explained.Allowed ? ExitOk : ExitFailed;
            case ("relays", "list"):
                return PrintList(output, json, await admin.ListRelaysAsync(), r =>
                    $"region {r.RegionId,-3} {Safe(r.RegionCode),-8} {Safe(r.HostName),-24} {r.IPv4 ?? r.IPv6 ?? "",-15} port {r.Port} stun {r.StunPort}{(r.InsecureHttp ? " plain-http" : "")}");
            case ("relays", "set"):
                var relays = JsonSerializer.Deserialize<List<RelayInfo>>(ReadFile(One(rest, "FILE"), MaxRelayFileBytes, "a relay map (a JSON array)"), CliJson.Options)
                    ?? throw new UsageException("relays set FILE: the file holds no JSON array");
                return PrintList(output, json, await admin.SetRelaysAsync(relays), r => $"region {r.RegionId} {Safe(r.RegionCode)}: {Safe(r.HostName)}");
            default:
                throw new UsageException($"unknown verb \"{verb} {sub}\"");
        }
    }

    private static RateLimit? RateFlag(List<string> rest, string flag) => Take(rest, flag) is not { } text ? null
        : RateLimit.TryParse(text, out var limit) ? limit
        : throw new UsageException($"{flag} takes PER_MINUTE or PER_MINUTE:BURST (whole numbers; 0 is unlimited), not \"{text}\"");

    private static async Task<int> ServeAsync(ControlOptions options, List<string> rest, TextWriter output)
    {
        foreach (var url in TakeAll(rest, "--listen"))
        {
            options.Urls.Add(url);
        }

        options.ServerUrl = Take(rest, "--server-url");
        options.RequireApproval = TakeFlag(rest, "--require-approval");
        if (Take(rest, "--apikey-max-lifetime") is { } lifetime)
        {
            options.MaxApiKeyLifetime = Duration(lifetime, "--apikey-max-lifetime");
        }
        options.HandshakeRatePerSource = RateFlag(rest, "--handshake-rate") ?? options.HandshakeRatePerSource;
        options.RegistrationRatePerSource = RateFlag(rest, "--register-rate") ?? options.RegistrationRatePerSource;
        options.RegistrationRatePerAuthKey = RateFlag(rest, "--register-rate-authkey") ?? options.RegistrationRatePerAuthKey;
        if (Take(rest, "--oidc-issuer") is { } issuer)
        {
            var oidc = new OidcOptions
            {
                Issuer = issuer,
                ClientId = Take(rest, "--oidc-client-id") ?? throw new UsageException("--oidc-issuer needs --oidc-client-id"),
                ClientSecret = ControlSecrets.OidcClientSecret(Take(rest, "--oidc-client-secret"), Take(rest, "--oidc-client-secret-file"), options.Warn),
                AllowInsecureIssuer = issuer.StartsWith("http://127.", StringComparison.Ordinal) || issuer.StartsWith("http://localhost", StringComparison.Ordinal),
            };
            foreach (var d in CommaList(rest, "--oidc-allowed-domains", "--oidc-allowed-domain"))
            {
                oidc.AllowedDomains.Add(d);
            }

            foreach (var u in CommaList(rest, "--oidc-allowed-users", "--oidc-allowed-user"))
            {
                oidc.AllowedUsers.Add(u);
            }

            options.Oidc = oidc;
        }

        if (rest.Count > 0)
        {
            throw new UsageException($"unknown serve option {rest[0]}");
        }

        await using var server = await ControlServer.StartAsync(options, logging => logging.AddSimpleConsole(c => c.SingleLine = true));
        output.WriteLine($"meshwire-control: serving on {string.Join(", ", server.Addresses)}; server key {server.ServerKey.Key}");
        await server.WaitForShutdownAsync();
        return ExitOk;
    }

    private static int Print<T>(TextWriter output, bool json, T value, Func<T, string> human)
    {
        output.WriteLine(json ? JsonSerializer.Serialize(value, CliJson.Options) : human(value));
        return ExitOk;
    }

    private static int PrintList<T>(TextWriter output, bool json, IReadOnlyList<T> values, Func<T, string> human)
    {
        if (json)
        {
            output.WriteLine(JsonSerializer.Serialize(values, CliJson.Options));
        }
        else
        {
            foreach (var v in values)
            {
                output.WriteLine(human(v));
            }
        }

        return ExitOk;
    }

    /// <summary>Text from outside (logins, hostnames, tags) as the terminal may show it: controls escaped.</summary>
    private static string Safe(string? text) => NameValidation.Printable(text);

    private static string ReadFile(string path, int maxBytes, string what) =>
        PolicyFile.TryRead(path, maxBytes, what, out var text, out var error) ? text : throw new IOException($"{path}: {error}");

    /// <summary>A whole number of seconds (1 to int.MaxValue), or null when the flag was absent.</summary>
    private static int? Seconds(string? value) =>
        value is null ? null
        : int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s > 0 ? s
        : throw new UsageException($"--expiry takes a whole number of seconds from 1 to {int.MaxValue}, not \"{Safe(value)}\"");

    /// <summary>"90d", "12h", "30m", "3600s" or plain seconds; at least one second, at most ten years.</summary>
    internal static TimeSpan Duration(string value, string flag)
    {
        var last = value.Length > 0 ? value[^1] : '\0';
        var (number, seconds) = char.IsAsciiLetter(last)
            ? (value[..^1], last switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 0L })
            : (value, 1L);
        if (seconds == 0 || !long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0 || n > 3650L * 86400 / seconds)
        {
            throw new UsageException($"{flag} takes a duration such as 90d, 12h, 30m or 3600s (1 second to 3650 days), not \"{Safe(value)}\"");
        }

        return TimeSpan.FromSeconds(n * seconds);
    }

    private static void NoMore(List<string> rest, string verb)
    {
        if (rest.Count > 0)
        {
            throw new UsageException($"{verb}: unexpected \"{Safe(rest[0])}\"");
        }
    }

    private static string One(List<string> rest, string what) =>
        rest.Count == 1 ? rest[0] : throw new UsageException($"expected {what}");

    private static string? Take(List<string> args, string name)
    {
        var i = args.IndexOf(name);
        if (i < 0)
        {
            return null;
        }

        if (i + 1 >= args.Count)
        {
            throw new UsageException($"{name} needs a value");
        }

        var value = args[i + 1];
        args.RemoveRange(i, 2);
        return value;
    }

    private static List<string> TakeAll(List<string> args, string name)
    {
        var values = new List<string>();
        while (Take(args, name) is { } v)
        {
            values.Add(v);
        }

        return values;
    }

    /// <summary>Values of a repeatable flag (and its singular spelling), each a comma-separated list.</summary>
    private static IEnumerable<string> CommaList(List<string> args, string plural, string singular) =>
        [.. TakeAll(args, plural).Concat(TakeAll(args, singular))
            .SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

    private static bool TakeFlag(List<string> args, string name) => args.Remove(name);

    private sealed class UsageException(string message) : Exception(message);
}
