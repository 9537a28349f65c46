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
    public Task<UserInfo> CreateUserAsync(string login, string? displayName = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(login) || login.Length > 254 || login.Any(char.IsWhiteSpace) || login.Contains(','))
        {
            throw new ControlException(ErrorCodes.BadRequest, "a login is 1 to 254 characters without spaces or commas");
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

    /// <summary>Finds or creates the user an OIDC login maps to (by issuer and subject, else by email).</summary>
    internal Task<UserInfo> UpsertOidcUserAsync(string issuer, string subject, string login, string displayName, CancellationToken cancellationToken) =>
        WriteAsync(async (db, after) =>
        {
            var row = await db.Users.SingleOrDefaultAsync(u => (u.Provider == issuer && u.Subject == subject) || u.Login == login, cancellationToken);
            if (row is null)
            {
                row = new UserRow { Login = login, DisplayName = displayName, Provider = issuer, Subject = subject, CreatedAt = Now };
                db.Users.Add(row);
            }
            else
            {
                row.Provider = issuer;
                row.Subject = subject;
            }

            await db.SaveChangesAsync(cancellationToken);
            after.Add(() => _userLogins[row.Id] = row.Login);
            return ToInfo(row);
        }, cancellationToken);

    public async Task<IReadOnlyList<UserInfo>> ListUsersAsync(CancellationToken cancellationToken = default)
    {
        await using var db = CreateDb();
        return [.. (await db.Users.AsNoTracking().OrderBy(u => u.Id).ToListAsync(cancellationToken)).Select(ToInfo)];
    }

    private static UserInfo ToInfo(UserRow row) => new(row.Id, row.Login, row.DisplayName, row.Provider, row.CreatedAt);

    public Task<AuthKeyInfo> CreateAuthKeyAsync(CreateAuthKeyRequest request, CancellationToken cancellationToken = default)
    {
        var tags = request.Tags ?? [];
        foreach (var tag in tags)
        {
            if (!tag.StartsWith("tag:", StringComparison.Ordinal) || tag.Length < 5 || tag.Contains(',') || tag.Any(char.IsWhiteSpace))
            {
                throw new ControlException(ErrorCodes.BadRequest, $"\"{tag}\" is not a tag (tag:name)");
            }
        }

        if (request.ExpirySeconds <= 0 || request.ExpirySeconds > 365 * 24 * 3600)
        {
            throw new ControlException(ErrorCodes.BadRequest, "expiry must be between 1 second and 365 days");
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

    public Task<ApiKeyInfo> CreateApiKeyAsync(int expirySeconds = 90 * 24 * 3600, CancellationToken cancellationToken = default)
    {
        if (expirySeconds <= 0)
        {
            throw new ControlException(ErrorCodes.BadRequest, "expiry must be positive");
        }

        return WriteAsync(async (db, _) =>
        {
            var (text, prefix, hash) = Secrets.Create(Secrets.ApiKeyKind);
            var now = Now;
            var row = new ApiKeyRow { Prefix = prefix, Hash = hash, CreatedAt = now, ExpiresAt = now + TimeSpan.FromSeconds(expirySeconds) };
            db.ApiKeys.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            return new ApiKeyInfo(row.Id, row.Prefix, row.CreatedAt, row.ExpiresAt, text);
        }, cancellationToken);
    }

    /// <summary>True when <paramref name="text"/> is a live API key. Read-only: last-use is not recorded per request.</summary>
    public async Task<bool> ValidateApiKeyAsync(string? text, CancellationToken cancellationToken = default)
    {
        if (!Secrets.TryParse(text, Secrets.ApiKeyKind, out var prefix))
        {
            return false;
        }

        await using var db = CreateDb();
        var row = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Prefix == prefix, cancellationToken);
        return row is not null && row.ExpiresAt > Now && Secrets.Matches(text!, row.Hash);
    }

    public PolicyInfo GetPolicy() => new(_policyText, _policyUpdated);

    /// <summary>Validates a policy and runs its tests (PolicyCommands.Check); the output says what failed and where.</summary>
    public static PolicyCheckResult CheckPolicy(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"meshwire-policy-{Guid.NewGuid():N}.hujson");
        File.WriteAllText(path, text);
        try
        {
            var output = new StringWriter();
            var code = PolicyCommands.Check(path, output);
            return new PolicyCheckResult(code == PolicyCommands.ExitOk, output.ToString().Replace(path, "policy", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Replaces the policy after it parses and its tests pass; every stream gets its new peers and filter.</summary>
    public Task<PolicyInfo> SetPolicyAsync(string text, CancellationToken cancellationToken = default)
    {
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
        foreach (var r in relays)
        {
            if (r.RegionId <= 0 || string.IsNullOrWhiteSpace(r.RegionCode) || string.IsNullOrWhiteSpace(r.HostName) || r.Port is <= 0 or > 65535 || r.StunPort is < 0 or > 65535)
            {
                throw new ControlException(ErrorCodes.BadRequest, "each relay needs regionId > 0, regionCode, hostName and valid ports");
            }
        }

        return WriteAsync(async (db, after) =>
        {
            db.Relays.RemoveRange(await db.Relays.ToListAsync(cancellationToken));
            var rows = relays.Select(r => new RelayRow
            {
                RegionId = r.RegionId, RegionCode = r.RegionCode, RegionName = r.RegionName, HostName = r.HostName, IPv4 = r.IPv4, IPv6 = r.IPv6, Port = r.Port, StunPort = r.StunPort, InsecureHttp = r.InsecureHttp,
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
}
