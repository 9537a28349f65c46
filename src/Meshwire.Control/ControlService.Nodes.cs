using System.Net;
using System.Security.Cryptography;
using Meshwire.Control.Api;
using Meshwire.Control.Channel;
using Meshwire.Control.Data;
using Meshwire.Control.Identity;
using Meshwire.Control.State;
using Meshwire.Core;
using Meshwire.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control;

// Node lifecycle: registration (auth key or login), map requests, expiry, approval, rename, delete.
public sealed partial class ControlService
{
    // Registrations that can add or re-key a node, per source address and per auth key (a SHA-256 of it, so the
    // table holds no secrets); on the service clock. Created on first use from the options.
    private KeyedRateLimiter<SourceAddress>? _registrationsBySource;
    private KeyedRateLimiter<Key32>? _registrationsByAuthKey;

    /// <summary>
    /// Registers, renews, rotates or logs out the node key of <paramref name="machine"/> (the key that authenticated
    /// the channel). Refusals throw <see cref="ControlException"/> and leave the database unchanged. A registration
    /// that is not the renewal of a live node counts against the rate limits of <paramref name="source"/> and of its
    /// auth key (ErrorCodes.RateLimited with a retry hint when over).
    /// </summary>
    public Task<RegisterResult> RegisterAsync(MachinePublicKey machine, RegisterRequest request, IPAddress? source = null, CancellationToken cancellationToken = default)
    {
        if (request.NodeKey.IsZero)
        {
            throw new ControlException(ErrorCodes.BadRequest, "the node key is all zero");
        }

        // Length, and no control, format or bidi characters (the same rule as for logins and renames).
        if (NameValidation.CheckHostname(request.Hostname) is { } badHostname)
        {
            throw new ControlException(ErrorCodes.BadRequest, badHostname);
        }

        return WriteAsync(async (db, after) =>
        {
            var now = Now;
            var machineText = machine.ToString();
            var row = await db.Nodes.SingleOrDefaultAsync(n => n.MachineKey == machineText, cancellationToken);
            var old = row is null ? null : _tailnet.Find(row.StableId);

            if (!request.Logout && !IsLiveRenewal(row, request, now))
            {
                TakeRegistrationToken(source, request.AuthKey);
            }

            if (request.Logout)
            {
                if (row is null)
                {
                    throw new ControlException(ErrorCodes.UnknownMachine, "this machine is not registered");
                }

                if (row.Ephemeral)
                {
                    db.Nodes.Remove(row);
                    await db.SaveChangesAsync(cancellationToken);
                    after.Add(() => RemoveFromTailnet(old));
                }
                else
                {
                    row.Expired = true;
                    await db.SaveChangesAsync(cancellationToken);
                    after.Add(() => _tailnet.Apply(old, ToState(row)));
                }

                return new RegisterResult { Authorized = false, NodeId = row.StableId };
            }

            AuthKeyRow? authKey = null;
            if (request.AuthKey is not null)
            {
                authKey = await RedeemAuthKeyAsync(db, request.AuthKey, now, cancellationToken);
            }

            var nodeKeyText = request.NodeKey.ToString();
            if (row is not null)
            {
                var sameKey = row.NodeKey == nodeKeyText;
                var rotation = request.OldNodeKey is { } oldKey && oldKey.ToString() == row.NodeKey;
                var keyLive = !row.Expired && (row.KeyExpiry is not { } e || e > now);
                if (authKey is null && !(sameKey && keyLive) && !(rotation && keyLive))
                {
                    if (_options.Oidc is not null)
                    {
                        return new RegisterResult { AuthUrl = BeginLogin(machine, request, now), NodeId = row.StableId };
                    }

                    throw new ControlException(ErrorCodes.NodeKeyExpired, "the node key expired or was logged out; register again with an auth key");
                }

                if (!sameKey && await db.Nodes.AnyAsync(n => n.NodeKey == nodeKeyText, cancellationToken))
                {
                    throw new ControlException(ErrorCodes.Conflict, "this node key belongs to another node");
                }

                row.NodeKey = nodeKeyText;
                row.Hostname = request.Hostname;
                if (!sameKey || authKey is not null || row.Expired)
                {
                    row.Expired = false;
                    row.KeyExpiry = KeyExpiryFor(authKey is null ? SplitList(row.Tags) : SplitList(authKey.Tags), now);
                }

                if (authKey is not null)
                {
                    row.UserId = authKey.UserId;
                    row.Tags = authKey.Tags;
                    row.AuthKeyId = authKey.Id;
                }

                if (request.Tags is not null)
                {
                    var tags = AllowedTags(request.Tags, row.UserId, authKey is null ? [] : SplitList(authKey.Tags));
                    if (string.Join(',', tags) != row.Tags)
                    {
                        row.Tags = string.Join(',', tags);
                        row.KeyExpiry = KeyExpiryFor(tags, now);
                    }
                }

                await db.SaveChangesAsync(cancellationToken);
                var updated = ToState(row) with { UserLogin = _userLogins[row.UserId] };
                after.Add(() => _tailnet.Apply(old, updated));
                return Result(row, updated);
            }

            if (authKey is null)
            {
                if (_options.Oidc is not null)
                {
                    return new RegisterResult { AuthUrl = BeginLogin(machine, request, now) };
                }

                throw new ControlException(ErrorCodes.Unauthorized, "an unknown machine needs an auth key to register");
            }

            if (await db.Nodes.AnyAsync(n => n.NodeKey == nodeKeyText, cancellationToken))
            {
                throw new ControlException(ErrorCodes.Conflict, "this node key belongs to another node");
            }

            var createdTags = request.Tags is null ? SplitList(authKey.Tags) : AllowedTags(request.Tags, authKey.UserId, SplitList(authKey.Tags));
            var created = await CreateNodeRowAsync(db, machine, request.NodeKey, request.Hostname, authKey.UserId, createdTags, authKey.Ephemeral, authKey.Id, now, cancellationToken);
            var state = ToState(created) with { UserLogin = _userLogins[created.UserId] };
            after.Add(() => _tailnet.Apply(null, state));
            return Result(created, state);
        }, cancellationToken);
    }

    /// <summary>
    /// A register message that only renews a live node (same or rotated key, no auth key): it adds nothing, so it is
    /// never rate limited (a whole office behind one address reconnects after a control restart).
    /// </summary>
    private static bool IsLiveRenewal(NodeRow? row, RegisterRequest request, DateTimeOffset now)
    {
        if (row is null || request.AuthKey is not null || row.Expired || row.KeyExpiry is { } expiry && expiry <= now)
        {
            return false;
        }

        return row.NodeKey == request.NodeKey.ToString() || request.OldNodeKey is { } old && old.ToString() == row.NodeKey;
    }

    private void TakeRegistrationToken(IPAddress? source, string? authKey)
    {
        var now = MonotonicClock.Now(Time);
        var bySource = LazyInitializer.EnsureInitialized(ref _registrationsBySource, () => _options.RegistrationRatePerSource.CreateLimiter<SourceAddress>(Time, capacity: 65_536));
        if (!bySource.TryTake(SourceAddress.Of(source), now, out var wait))
        {
            throw new ControlException(ErrorCodes.RateLimited, $"too many registrations from this address; retry after {Math.Ceiling(wait.TotalSeconds)} s") { RetryAfter = wait };
        }

        if (authKey is null)
        {
            return;
        }

        var byKey = LazyInitializer.EnsureInitialized(ref _registrationsByAuthKey, () => _options.RegistrationRatePerAuthKey.CreateLimiter<Key32>(Time, capacity: 65_536));
        if (!byKey.TryTake(Key32.FromSpan(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(authKey))), now, out wait))
        {
            throw new ControlException(ErrorCodes.RateLimited, $"too many registrations with this auth key; retry after {Math.Ceiling(wait.TotalSeconds)} s") { RetryAfter = wait };
        }
    }

    internal async Task<NodeRow> CreateNodeRowAsync(
        ControlDbContext db, MachinePublicKey machine, NodePublicKey nodeKey, string hostname, long userId, string[] tags, bool ephemeral, long? authKeyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Only names that can collide ("web", "web-1", ...): reading every name made each join O(nodes).
        var wanted = NodeNames.Sanitize(hostname);
        var suffixed = wanted + "-";
        var names = (await db.Nodes.Where(n => n.Name == wanted || n.Name.StartsWith(suffixed)).Select(n => n.Name).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        var (v4, v6) = _addresses.Allocate();
        var row = new NodeRow
        {
            StableId = "n" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Name = NodeNames.Unique(hostname, names.Contains),
            Hostname = hostname,
            UserId = userId,
            MachineKey = machine.ToString(),
            NodeKey = nodeKey.ToString(),
            IPv4 = v4.ToString(),
            IPv6 = v6.ToString(),
            Tags = string.Join(',', tags),
            Approved = !_options.RequireApproval,
            Ephemeral = ephemeral,
            KeyExpiry = KeyExpiryFor(tags, now),
            CreatedAt = now,
            AuthKeyId = authKeyId,
        };
        db.Nodes.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch
        {
            _addresses.Release(v4);
            throw;
        }

        return row;
    }

    /// <summary>
    /// The tags a node may carry of those it asked for: the auth key's own tags, plus tags whose tagOwners list the
    /// node's user or a group the user is in. Any other tag refuses the registration (nothing changes). Sorted, distinct.
    /// </summary>
    private string[] AllowedTags(IReadOnlyList<string> requested, long userId, string[] keyTags)
    {
        var login = _userLogins[userId];
        var policy = _tailnet.Policy;
        var result = new SortedSet<string>(keyTags, StringComparer.Ordinal);
        foreach (var tag in requested)
        {
            if (!tag.StartsWith("tag:", StringComparison.Ordinal) || tag.Length < 5 || tag.Contains(',') || tag.Any(char.IsWhiteSpace))
            {
                throw new ControlException(ErrorCodes.BadRequest, $"\"{tag}\" is not a tag (tag:name)");
            }

            if (keyTags.Contains(tag))
            {
                continue;
            }

            var owned = policy.TagOwners.TryGetValue(tag, out var owners) && owners.Any(owner =>
                owner == login || (policy.Groups.TryGetValue(owner, out var members) && members.Contains(login)));
            if (!owned)
            {
                throw new ControlException(ErrorCodes.TagNotOwned, $"{login} may not advertise {tag}: the policy's tagOwners do not list them for it");
            }

            result.Add(tag);
        }

        return [.. result];
    }

    /// <summary>Tagged nodes are servers: their keys do not expire (as in Tailscale); user nodes get the configured lifetime.</summary>
    private DateTimeOffset? KeyExpiryFor(string[] tags, DateTimeOffset now) => tags.Length > 0 ? null : now + _options.NodeKeyExpiry;

    private static RegisterResult Result(NodeRow row, NodeState state) => new()
    {
        Authorized = row.Approved && !row.Expired,
        NeedsApproval = !row.Approved,
        NodeId = row.StableId,
        User = state.UserLogin,
        KeyExpiry = row.KeyExpiry,
    };

    private async Task<AuthKeyRow> RedeemAuthKeyAsync(ControlDbContext db, string text, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!Secrets.TryParse(text, Secrets.AuthKeyKind, out var prefix))
        {
            throw new ControlException(ErrorCodes.AuthKeyInvalid, "the auth key is malformed (expected mwauth-<12 hex>-<64 hex>)");
        }

        var key = await db.AuthKeys.SingleOrDefaultAsync(k => k.Prefix == prefix, cancellationToken);
        if (key is null || !Secrets.Matches(text, key.Hash) || key.Revoked)
        {
            throw new ControlException(ErrorCodes.AuthKeyInvalid, "the auth key is unknown or revoked");
        }

        if (key.ExpiresAt <= now)
        {
            throw new ControlException(ErrorCodes.AuthKeyExpired, "the auth key expired; create a new one with `meshwire-control authkeys create`");
        }

        if (!key.Reusable && key.UseCount > 0)
        {
            throw new ControlException(ErrorCodes.AuthKeyUsed, "this one-off auth key was already used");
        }

        key.UseCount++;
        return key;
    }

    /// <summary>Records the node's disco key, endpoints and home relay from a map request; returns its stable id.</summary>
    public Task<string> UpdateFromMapRequestAsync(MachinePublicKey machine, MapRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Endpoints is { Count: > 64 })
        {
            throw new ControlException(ErrorCodes.BadRequest, "at most 64 endpoints");
        }

        foreach (var endpoint in request.Endpoints ?? [])
        {
            if (!IPEndPoint.TryParse(endpoint, out var parsed) || parsed.Port == 0)
            {
                throw new ControlException(ErrorCodes.BadRequest, $"endpoint \"{endpoint}\" is not ip:port");
            }
        }

        return WriteAsync(async (db, after) =>
        {
            var now = Now;
            var machineText = machine.ToString();
            var row = await db.Nodes.SingleOrDefaultAsync(n => n.MachineKey == machineText, cancellationToken)
                ?? throw new ControlException(ErrorCodes.UnknownMachine, "this machine is not registered; send a register message first");
            if (row.NodeKey != request.NodeKey.ToString())
            {
                throw new ControlException(ErrorCodes.Unauthorized, "the node key is not the one registered for this machine");
            }

            var old = _tailnet.Find(row.StableId);
            if (!row.Approved)
            {
                throw new ControlException(ErrorCodes.NotApproved, "the node waits for an admin to approve it");
            }

            if (row.Expired || row.KeyExpiry is { } e && e <= now)
            {
                throw new ControlException(ErrorCodes.NodeKeyExpired, "the node key expired; register again");
            }

            var disco = request.DiscoKey.ToString();
            var endpoints = request.Endpoints is null ? row.Endpoints : string.Join(',', request.Endpoints);
            var relay = request.HomeRelay > 0 ? request.HomeRelay : row.HomeRelay;
            var changed = row.DiscoKey != disco || row.Endpoints != endpoints || row.HomeRelay != relay;
            row.DiscoKey = disco;
            row.Endpoints = endpoints;
            row.HomeRelay = relay;
            row.LastSeen = now;
            await db.SaveChangesAsync(cancellationToken);
            if (changed || old is null)
            {
                var updated = ToState(row) with { Online = old?.Online ?? false };
                after.Add(() => _tailnet.Apply(old, updated));
            }

            return row.StableId;
        }, cancellationToken);
    }

    /// <summary>Marks a node online or offline as its streams come and go (peers see it; not persisted beyond LastSeen).</summary>
    internal async Task SetOnlineAsync(string stableId, bool online)
    {
        if (!_options.PublishOnline)
        {
            return;
        }

        await _write.WaitAsync();
        try
        {
            if (_tailnet.Find(stableId) is { } old && old.Online != online && !(online == false && _tailnet.HasStreams(stableId)))
            {
                _tailnet.Apply(old, old with { Online = online, LastSeen = Now });
            }
        }
        finally
        {
            _write.Release();
        }
    }

    /// <summary>An ephemeral node is deleted when it has had no stream for the grace period.</summary>
    internal Task OnStreamClosedAsync(string nodeId)
    {
        if (_tailnet.Find(nodeId) is { Ephemeral: true } && !_tailnet.HasStreams(nodeId))
        {
            _ = Task.Run(async () =>
            {
                await Task.Delay(_options.EphemeralGrace, Time);
                if (!_tailnet.HasStreams(nodeId) && _tailnet.Find(nodeId) is not null)
                {
                    try
                    {
                        await DeleteNodeAsync(nodeId);
                    }
                    catch (ControlException)
                    {
                        // Deleted meanwhile.
                    }
                }
            });
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<NodeInfo>> ListNodesAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<NodeInfo>>([.. _tailnet.Snapshot().OrderBy(n => n.Name, StringComparer.Ordinal).Select(ToInfo)]);

    public Task<NodeInfo> RenameNodeAsync(string node, string name, CancellationToken cancellationToken = default) =>
        UpdateNodeAsync(node, (row, db) =>
        {
            var sanitized = NodeNames.Sanitize(name);
            if (sanitized != name)
            {
                throw new ControlException(ErrorCodes.BadRequest, $"\"{name}\" is not a DNS label (try \"{sanitized}\")");
            }

            if (db.Nodes.Any(n => n.Name == name && n.Id != row.Id))
            {
                throw new ControlException(ErrorCodes.Conflict, $"another node is named \"{name}\"");
            }

            row.Name = name;
        }, cancellationToken);

    public Task<NodeInfo> ExpireNodeAsync(string node, CancellationToken cancellationToken = default) =>
        UpdateNodeAsync(node, (row, _) => row.Expired = true, cancellationToken);

    public Task<NodeInfo> ApproveNodeAsync(string node, CancellationToken cancellationToken = default) =>
        UpdateNodeAsync(node, (row, _) => row.Approved = true, cancellationToken);

    public Task DeleteNodeAsync(string node, CancellationToken cancellationToken = default) =>
        WriteAsync(async (db, after) =>
        {
            var row = await FindNodeRowAsync(db, node, cancellationToken);
            var old = _tailnet.Find(row.StableId);
            db.Nodes.Remove(row);
            await db.SaveChangesAsync(cancellationToken);
            after.Add(() => RemoveFromTailnet(old));
            return true;
        }, cancellationToken);

    private void RemoveFromTailnet(NodeState? old)
    {
        if (old is not null)
        {
            _addresses.Release(old.IPv4);
            _tailnet.Apply(old, null);
        }
    }

    private Task<NodeInfo> UpdateNodeAsync(string node, Action<NodeRow, ControlDbContext> change, CancellationToken cancellationToken) =>
        WriteAsync(async (db, after) =>
        {
            var row = await FindNodeRowAsync(db, node, cancellationToken);
            var old = _tailnet.Find(row.StableId);
            change(row, db);
            await db.SaveChangesAsync(cancellationToken);
            var updated = ToState(row) with { Online = old?.Online ?? false };
            after.Add(() => _tailnet.Apply(old, updated));
            return ToInfo(updated);
        }, cancellationToken);

    /// <summary>Finds a node by stable id, name, or tailnet address.</summary>
    private static async Task<NodeRow> FindNodeRowAsync(ControlDbContext db, string node, CancellationToken cancellationToken) =>
        await db.Nodes.SingleOrDefaultAsync(n => n.StableId == node || n.Name == node || n.IPv4 == node || n.IPv6 == node, cancellationToken)
        ?? throw new ControlException(ErrorCodes.NotFound, $"no node \"{node}\" (give its id, name or address)");

    /// <summary>Re-applies nodes whose key expiry passed, so they leave every map. Called periodically.</summary>
    internal async Task SweepExpiredAsync()
    {
        var now = Now;
        await _write.WaitAsync();
        try
        {
            foreach (var node in _tailnet.Snapshot())
            {
                if (node.Approved && !node.Expired && node.KeyExpiry is { } e && e <= now && _tailnet.IsInEngine(node.StableId))
                {
                    _tailnet.Apply(node, node);
                }
            }
        }
        finally
        {
            _write.Release();
        }
    }

    internal static NodeInfo ToInfo(NodeState n) => new(
        n.StableId, n.Name, n.Hostname, n.UserLogin, n.MachineKey.ToString(), n.NodeKey.ToString(), n.IPv4.ToString(), n.IPv6.ToString(),
        n.Tags, n.Approved, n.Ephemeral, n.Expired, n.KeyExpiry, n.Online, n.LastSeen, n.CreatedAt);
}
