using System.Net;
using System.Net.Sockets;
using Meshwire.Control.Api;
using Meshwire.Control.Data;
using Meshwire.Control.Identity;
using Meshwire.Policy.Commands;
using Meshwire.Policy.HuJson;
using Meshwire.Policy.Parsing;
using Meshwire.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control;

// Users, pre-auth keys, API keys, policy and relays: what the admin API and CLI verbs call.
public sealed partial class ControlService
{
    private const int MaxTags = 64;
    private const int MaxTagLength = 128;
    private const int MaxRelays = 1000;

    public Task<UserInfo> CreateUserAsync(string login, string? displayName = null, CancellationToken cancellationToken = default)
    {
        if (NameValidation.CheckLogin(login) is { } badLogin)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"login: {badLogin}");
        }

        if (NameValidation.CheckDisplayName(displayName) is { } badName)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"displayName: {badName}");
        }

        return WriteAsync(async (db, after) =>
        {
            if (await db.Users.AnyAsync(u => u.Login == login, cancellationToken))
            {
                throw new ControlException(ErrorCodes.Conflict, $"user \"{login}\" exists");
            }

            var row = new UserRow { Login = login, DisplayName = displayName ?? login, CreatedAt = Now };
            db.Users.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            after.Add(() => _userLogins[row.Id] = row.Login);
            return ToInfo(row);
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default)
    {
        await using var db = CreateDb();
        return [.. (await db.Users.AsNoTracking().OrderBy(u => u.Id).ToListAsync(cancellationToken)).Select(ToInfo)];
    }

    private static UserInfo ToInfo(UserRow row) => new(row.Id, row.Login, row.DisplayName, row.Provider, row.CreatedAt);

    public Task<AuthKeyInfo> CreateAuthKeyAsync(CreateAuthKeyRequest request, CancellationToken cancellationToken = default)
    {
        if (request.User is null)
        {
            throw new ControlException(ErrorCodes.BadRequest, "user: required (the login of the user whose nodes join with the key)");
        }

        var tags = request.Tags ?? [];
        if (tags.Count > MaxTags)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"tags: at most {MaxTags} tags");
        }

        for (var i = 0; i < tags.Count; i++)
        {
            var tag = tags[i];
            if (tag is null || !tag.StartsWith("tag:", StringComparison.Ordinal) || tag.Length < 5 || tag.Length > MaxTagLength
                || tag.Contains(',') || tag.Any(char.IsWhiteSpace) || NameValidation.FindUnsafe(tag) is not null)
            {
                throw new ControlException(ErrorCodes.BadRequest, $"tags[{i}]: {(tag is null ? "null" : $"\"{NameValidation.Printable(tag)}\"")} is not a tag (tag:name, at most {MaxTagLength} characters, no spaces, commas or control characters)");
            }
        }

        if (request.ExpirySeconds <= 0 || request.ExpirySeconds > 365 * 24 * 3600)
        {
            throw new ControlException(ErrorCodes.BadRequest, "expirySeconds: must be between 1 second and 365 days (31536000)");
        }

        return WriteAsync(async (db, _) =>
        {
            var user = await db.Users.SingleOrDefaultAsync(u => u.Login == request.User, cancellationToken)
                ?? throw new ControlException(ErrorCodes.NotFound, $"no user \"{request.User}\"; create it with `users create`");
            var (text, prefix, hash) = Secrets.Create(Secrets.AuthKeyKind);
            var now = Now;
            var row = new AuthKeyRow
            {
                Prefix = prefix,
                Hash = hash,
                UserId = user.Id,
                Reusable = request.Reusable,
                Ephemeral = request.Ephemeral,
                Tags = string.Join(',', tags),
                CreatedAt = now,
                ExpiresAt = now + TimeSpan.FromSeconds(request.ExpirySeconds),
            };
            db.AuthKeys.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            return ToInfo(row, user.Login) with { Key = text };
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<AuthKeyInfo>> ListAuthKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var db = CreateDb();
        var users = await db.Users.AsNoTracking().ToDictionaryAsync(u => u.Id, u => u.Login, cancellationToken);
        return [.. (await db.AuthKeys.AsNoTracking().OrderBy(k => k.Id).ToListAsync(cancellationToken)).Select(k => ToInfo(k, users.GetValueOrDefault(k.UserId, "?")))];
    }

    public Task<AuthKeyInfo> RevokeAuthKeyAsync(string prefixOrId, CancellationToken cancellationToken = default) =>
        WriteAsync(async (db, _) =>
        {
            var id = long.TryParse(prefixOrId, out var n) ? n : -1;
            var row = await db.AuthKeys.SingleOrDefaultAsync(k => k.Prefix == prefixOrId || k.Id == id, cancellationToken)
                ?? throw new ControlException(ErrorCodes.NotFound, $"no auth key \"{prefixOrId}\" (give its id or prefix)");
            row.Revoked = true;
            await db.SaveChangesAsync(cancellationToken);
            var login = (await db.Users.SingleAsync(u => u.Id == row.UserId, cancellationToken)).Login;
            return ToInfo(row, login);
        }, cancellationToken);

    private static AuthKeyInfo ToInfo(AuthKeyRow k, string user) =>
        new(k.Id, k.Prefix, user, k.Reusable, k.Ephemeral, SplitList(k.Tags), k.ExpiresAt, k.CreatedAt, k.UseCount, k.Revoked);

    public PolicyInfo GetPolicy() => new(_policyText, _policyUpdated);

    /// <summary>Validates a policy and runs its tests (PolicyCommands.Check); the output says what failed and where.</summary>
    public static PolicyCheckResult CheckPolicy(string text)
    {
        if (text is null)
        {
            throw new ControlException(ErrorCodes.BadRequest, "text: required (the policy, HuJSON)");
        }

        var output = new StringWriter();
        var code = PolicyCommands.CheckText(text, "policy", output);
        return new PolicyCheckResult(code == PolicyCommands.ExitOk, output.ToString());
    }

    /// <summary>Replaces the policy after it parses and its tests pass; every stream gets its new peers and filter.</summary>
    public Task<PolicyInfo> SetPolicyAsync(string text, CancellationToken cancellationToken = default)
    {
        if (text is null)
        {
            throw new ControlException(ErrorCodes.BadRequest, "text: required (the policy, HuJSON)");
        }

        if (text.Length > _options.MaxRequestBytes)
        {
            throw new ControlException(ErrorCodes.TooLarge, "the policy is too large");
        }

        var check = CheckPolicy(text);
        if (!check.Ok)
        {
            throw new ControlException(ErrorCodes.PolicyInvalid, check.Output.Trim());
        }

        var policy = PolicyParser.Parse(text);
        return WriteAsync(async (db, after) =>
        {
            var now = Now;
            var row = await db.Policies.SingleOrDefaultAsync(p => p.Id == 1, cancellationToken);
            if (row is null)
            {
                db.Policies.Add(new PolicyRow { Id = 1, Text = text, UpdatedAt = now });
            }
            else
            {
                row.Text = text;
                row.UpdatedAt = now;
            }

            await db.SaveChangesAsync(cancellationToken);
            after.Add(() =>
            {
                _policyText = text;
                _policyUpdated = now;
                _tailnet.SetPolicy(policy);
            });
            return new PolicyInfo(text, now);
        }, cancellationToken);
    }

    /// <summary>Which rule lets SRC reach DST:PORT, against the nodes in the database.</summary>
    public ExplainInfo Explain(string source, string destination, string protocol = "tcp")
    {
        foreach (var (field, value) in new[] { ("source", source), ("destination", destination), ("protocol", protocol) })
        {
            if (string.IsNullOrWhiteSpace(value) || value.Length > 255)
            {
                throw new ControlException(ErrorCodes.BadRequest, $"{field}: required, 1 to 255 characters");
            }
        }

        try
        {
            var result = PolicyCommands.Explain(_tailnet.Policy, _tailnet.Snapshot().Select(n => n.ToPolicyNode()), source, destination, protocol);
            return new ExplainInfo(result.Allowed, result.Message);
        }
        catch (ArgumentException e)
        {
            throw new ControlException(ErrorCodes.BadRequest, e.Message);
        }
        catch (PolicyException e)
        {
            throw new ControlException(ErrorCodes.BadRequest, e.Message);
        }
    }

    public async Task<IReadOnlyList<RelayInfo>> ListRelaysAsync(CancellationToken cancellationToken = default)
    {
        await using var db = CreateDb();
        return [.. (await db.Relays.AsNoTracking().OrderBy(r => r.RegionId).ThenBy(r => r.HostName).ToListAsync(cancellationToken))
            .Select(r => new RelayInfo(r.RegionId, r.RegionCode, r.RegionName, r.HostName, r.IPv4, r.IPv6, r.Port, r.StunPort, r.InsecureHttp))];
    }

    /// <summary>Replaces the relay map; every stream gets it.</summary>
    public Task<IReadOnlyList<RelayInfo>> SetRelaysAsync(IReadOnlyList<RelayInfo> relays, CancellationToken cancellationToken = default)
    {
        CheckRelays(relays);

        return WriteAsync(async (db, after) =>
        {
            db.Relays.RemoveRange(await db.Relays.ToListAsync(cancellationToken));
            var rows = relays.Select(r => new RelayRow
            {
                RegionId = r.RegionId, RegionCode = r.RegionCode, RegionName = r.RegionName ?? "", HostName = r.HostName, IPv4 = r.IPv4, IPv6 = r.IPv6, Port = r.Port, StunPort = r.StunPort, InsecureHttp = r.InsecureHttp,
            }).ToList();
            db.Relays.AddRange(rows);
            await db.SaveChangesAsync(cancellationToken);
            var map = BuildRelayMap(rows);
            var signature = RelaySignature(rows);
            after.Add(() =>
            {
                _relaySignature = signature;
                _tailnet.SetRelayMap(map);
            });
            return relays;
        }, cancellationToken);
    }

    /// <summary>Refuses a relay map that could not be stored or served, naming the element and field ("[2].port").</summary>
    private static void CheckRelays(IReadOnlyList<RelayInfo> relays)
    {
        if (relays is null)
        {
            throw new ControlException(ErrorCodes.BadRequest, "body: a JSON array of relays");
        }

        if (relays.Count > MaxRelays)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"body: at most {MaxRelays} relays");
        }

        var seen = new HashSet<(int, string)>();
        for (var i = 0; i < relays.Count; i++)
        {
            var r = relays[i];
            string? problem = r switch
            {
                null => "null is not a relay",
                { RegionId: <= 0 } => "regionId: must be > 0",
                _ when !IsRelayText(r.RegionCode) => "regionCode: required, 1 to 253 printable characters",
                _ when r.RegionName is not null && (r.RegionName.Length > 253 || NameValidation.FindUnsafe(r.RegionName) is not null) => "regionName: at most 253 printable characters",
                _ when !IsRelayText(r.HostName) || r.HostName.Any(char.IsWhiteSpace) => "hostName: required, 1 to 253 printable characters without spaces",
                _ when r.IPv4 is not null && !(IPAddress.TryParse(r.IPv4, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork) => "ipv4: not an IPv4 address",
                _ when r.IPv6 is not null && !(IPAddress.TryParse(r.IPv6, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6) => "ipv6: not an IPv6 address",
                { Port: <= 0 or > 65535 } => "port: must be 1 to 65535",
                { StunPort: < 0 or > 65535 } => "stunPort: must be 0 to 65535",
                _ when !seen.Add((r.RegionId, r.HostName)) => "hostName: listed twice in this region",
                _ => null,
            };
            if (problem is not null)
            {
                throw new ControlException(ErrorCodes.BadRequest, problem.StartsWith("null", StringComparison.Ordinal) ? $"[{i}]: {problem}" : $"[{i}].{problem}");
            }
        }

        static bool IsRelayText(string? s) => !string.IsNullOrWhiteSpace(s) && s.Length <= 253 && NameValidation.FindUnsafe(s) is null;
    }
}
