using System.Data.Common;
using System.Globalization;
using Meshwire.Control.Api;
using Meshwire.Control.Data;
using Meshwire.Control.Identity;
using Meshwire.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control;

/// <summary>
/// Who is calling the admin API: an administrator (the CLI, offline or over the admin socket; <see cref="KeyId"/>
/// null) or a live API key, whose expiry bounds the keys it creates.
/// </summary>
internal sealed record ApiCaller(long? KeyId, string Prefix, DateTimeOffset? ExpiresAt)
{
    public static readonly ApiCaller Admin = new(null, "", null);

    public string Description => KeyId is null ? "admin" : $"apikey:{Prefix}";
}

// API keys: creation with a bounded lifetime, listing without secrets, revocation (with every key the revoked key
// created, so a stolen key's offspring die with it), and the per-request check, which reads the database each time
// so a revocation takes effect on the next request on every replica.
public sealed partial class ControlService
{
    /// <summary>Last-use times are written at most this often per key.</summary>
    private static readonly TimeSpan LastUsedGranularity = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Creates an API key as an administrator. <paramref name="expirySeconds"/> null: the longest lifetime allowed
    /// (<see cref="Hosting.ControlOptions.MaxApiKeyLifetime"/>).
    /// </summary>
    public Task<ApiKeyInfo> CreateApiKeyAsync(int? expirySeconds = null, string? name = null, CancellationToken cancellationToken = default) =>
        CreateApiKeyAsync(ApiCaller.Admin, expirySeconds, name, cancellationToken);

    /// <summary>
    /// Creates an API key for <paramref name="caller"/>. Its life is at most the server's maximum and, when an API key
    /// creates it, ends no later than that key's; a longer explicit expiry is refused, an absent one takes the longest
    /// allowed.
    /// </summary>
    internal Task<ApiKeyInfo> CreateApiKeyAsync(ApiCaller caller, int? expirySeconds, string? name, CancellationToken cancellationToken)
    {
        var max = _options.MaxApiKeyLifetime;
        var maxSeconds = (long)max.TotalSeconds;
        if (expirySeconds is <= 0)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"expirySeconds: must be between 1 and {maxSeconds} (the server's maximum API key lifetime, {Describe(max)})");
        }

        if (expirySeconds > maxSeconds)
        {
            throw new ControlException(ErrorCodes.BadRequest, $"expirySeconds: {expirySeconds} is longer than the server's maximum API key lifetime ({maxSeconds} seconds, {Describe(max)}); ask for less, or start the server with a larger --apikey-max-lifetime");
        }

        if (name is not null && (name.Length > 64 || NameValidation.FindUnsafe(name) is not null))
        {
            throw new ControlException(ErrorCodes.BadRequest, "name: at most 64 characters without control or bidi-override characters");
        }

        var now = Now;
        var lifetime = expirySeconds is { } s ? TimeSpan.FromSeconds(s) : max;
        if (caller.ExpiresAt is { } limit && now + lifetime > limit)
        {
            if (expirySeconds is not null)
            {
                var left = (long)Math.Floor((limit - now).TotalSeconds);
                throw new ControlException(ErrorCodes.BadRequest, $"expirySeconds: an API key cannot outlive the key that creates it; yours expires at {limit.ToString("u", CultureInfo.InvariantCulture)}, so ask for at most {left} seconds");
            }

            lifetime = limit - now;
        }

        return WriteAsync(async (db, _) =>
        {
            var (text, prefix, hash) = Secrets.Create(Secrets.ApiKeyKind);
            var row = new ApiKeyRow
            {
                Prefix = prefix,
                Hash = hash,
                Name = name ?? "",
                CreatedBy = caller.Description,
                CreatedByKeyId = caller.KeyId,
                CreatedAt = now,
                ExpiresAt = now + lifetime,
            };
            db.ApiKeys.Add(row);
            await db.SaveChangesAsync(cancellationToken);
            return ToInfo(row) with { Key = text };
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<ApiKeyInfo>> ListApiKeysAsync(CancellationToken cancellationToken = default)
    {
        await using var db = CreateDb();
        return [.. (await db.ApiKeys.AsNoTracking().OrderBy(k => k.Id).ToListAsync(cancellationToken)).Select(ToInfo)];
    }

    /// <summary>
    /// Revokes the API key with id or prefix <paramref name="idOrPrefix"/> and every key created from it (directly
    /// or through other keys). Revoking a revoked key changes nothing and succeeds.
    /// </summary>
    public Task<ApiKeyInfo> RevokeApiKeyAsync(string idOrPrefix, CancellationToken cancellationToken = default) =>
        WriteAsync(async (db, _) =>
        {
            var id = long.TryParse(idOrPrefix, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
            var all = await db.ApiKeys.ToListAsync(cancellationToken);
            var target = all.SingleOrDefault(k => k.Id == id || k.Prefix == idOrPrefix)
                ?? throw new ControlException(ErrorCodes.NotFound, $"no API key \"{NameValidation.Printable(idOrPrefix)}\" (give its id or prefix; `apikeys list` shows them)");
            var now = Now;
            var pending = new Queue<ApiKeyRow>([target]);
            var seen = new HashSet<long>();
            while (pending.TryDequeue(out var key))
            {
                if (!seen.Add(key.Id))
                {
                    continue;
                }

                key.RevokedAt ??= now;
                foreach (var child in all.Where(k => k.CreatedByKeyId == key.Id))
                {
                    pending.Enqueue(child);
                }
            }

            await db.SaveChangesAsync(cancellationToken);
            return ToInfo(target);
        }, cancellationToken);

    /// <summary>True when <paramref name="text"/> is a live API key (known, not expired, not revoked).</summary>
    public async Task<bool> ValidateApiKeyAsync(string? text, CancellationToken cancellationToken = default) =>
        await AuthenticateApiKeyAsync(text, cancellationToken) is not null;

    /// <summary>The caller <paramref name="text"/> names when it is a live API key, else null. Records its last use.</summary>
    internal async Task<ApiCaller?> AuthenticateApiKeyAsync(string? text, CancellationToken cancellationToken)
    {
        if (!Secrets.TryParse(text, Secrets.ApiKeyKind, out var prefix))
        {
            return null;
        }

        await using var db = CreateDb();
        var row = await db.ApiKeys.AsNoTracking().SingleOrDefaultAsync(k => k.Prefix == prefix, cancellationToken);
        var now = Now;
        if (row is null || row.RevokedAt is not null || row.ExpiresAt <= now || !Secrets.Matches(text!, row.Hash))
        {
            return null;
        }

        if (row.LastUsed is not { } last || now - last >= LastUsedGranularity)
        {
            try
            {
                await db.ApiKeys.Where(k => k.Id == row.Id).ExecuteUpdateAsync(k => k.SetProperty(r => r.LastUsed, now), cancellationToken);
            }
            catch (DbException)
            {
                // Last use is advisory: a busy database must not refuse a valid key.
            }
        }

        return new ApiCaller(row.Id, row.Prefix, row.ExpiresAt);
    }

    private static ApiKeyInfo ToInfo(ApiKeyRow row) =>
        new(row.Id, row.Prefix, row.Name, row.CreatedBy, row.CreatedAt, row.ExpiresAt, row.LastUsed, row.RevokedAt);

    private static string Describe(TimeSpan span) =>
        span.TotalDays >= 1 && span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0} days" : $"{span.TotalSeconds:0} seconds";
}
