using System.Security.Cryptography;
using System.Threading.Channels;
using Meshwire.Control.Data;
using Meshwire.Control.Replication;
using Meshwire.Control.State;
using Meshwire.Policy.Parsing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Meshwire.Control;

// Replicas on one PostgreSQL database. Flow: a write on replica A records what it changed (ControlDbContext.Changes)
// and sends it with NOTIFY in its transaction → each other replica's ChangeListener gets the payload → the payloads
// queued meanwhile are merged → under the write lock, the named rows are reloaded and applied to the in-memory
// tailnet through Tailnet.Apply/SetPolicy/SetRelayMap, the calls local writes make, so that replica's streams get
// the same deltas. A replica ignores its own payloads (it applied the change already). SQLite: none of this runs.
public sealed partial class ControlService
{
    private Channel<ChangeSet>? _remoteChanges;
    private ChangeListener? _listener;
    private Task? _applyLoop;
    private CancellationTokenSource? _applyStop;
    private string _relaySignature = "";

    /// <summary>Names this process in NOTIFY payloads, so it can skip its own.</summary>
    internal string ReplicaId { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>
    /// On PostgreSQL, starts listening for other replicas' changes (the server does; the offline CLI does not).
    /// Returns at once: the first connect reloads everything, which also covers changes made since the load.
    /// </summary>
    internal void StartReplicaSync(ILogger logger)
    {
        if (_database.Kind != DatabaseKind.Postgres || _listener is not null)
        {
            return;
        }

        _remoteChanges = System.Threading.Channels.Channel.CreateUnbounded<ChangeSet>(new UnboundedChannelOptions { SingleReader = true });
        _applyStop = new CancellationTokenSource();
        _applyLoop = Task.Run(() => ApplyRemoteLoopAsync(logger, _applyStop.Token));
        _listener = new ChangeListener(_database.ConnectionString, ReplicaId, OnNotification, logger);
    }

    private async Task StopReplicaSyncAsync()
    {
        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (_applyLoop is not null)
        {
            await _applyStop!.CancelAsync();
            _remoteChanges!.Writer.TryComplete();
            await _applyLoop;
            _applyStop.Dispose();
        }
    }

    private void OnNotification(string? payload)
    {
        ChangeSet changes;
        if (payload is null)
        {
            changes = new ChangeSet { All = true };
        }
        else if (!ChangeSet.TryParse(payload, out var replica, out changes))
        {
            changes = new ChangeSet { All = true };
        }
        else if (replica == ReplicaId)
        {
            return;
        }

        _remoteChanges!.Writer.TryWrite(changes);
    }

    private async Task ApplyRemoteLoopAsync(ILogger logger, CancellationToken cancellationToken)
    {
        var reader = _remoteChanges!.Reader;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                var merged = new ChangeSet();
                while (reader.TryRead(out var changes))
                {
                    merged.UnionWith(changes);
                }

                try
                {
                    await ApplyRemoteAsync(merged, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database went away mid-reload: the listener drops too, and its reconnect reloads everything.
                    Log.RemoteApplyFailed(logger, e.Message);
                    _remoteChanges.Writer.TryWrite(new ChangeSet { All = true });
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Reloads what another replica changed and applies it to the tailnet (everything when <see cref="ChangeSet.All"/>).</summary>
    internal async Task ApplyRemoteAsync(ChangeSet changes, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            await using var db = CreateDb();
            if (changes.All || changes.Users)
            {
                await ReloadUsersAsync(db, cancellationToken);
            }

            if (changes.All || changes.Policy)
            {
                var policy = await db.Policies.AsNoTracking().SingleOrDefaultAsync(p => p.Id == 1, cancellationToken);
                var text = policy?.Text ?? DefaultPolicy;
                if (text != _policyText)
                {
                    // Parsed and tested by the replica that wrote it; parse again here, since memory holds the document.
                    var parsed = PolicyParser.Parse(text);
                    _policyText = text;
                    _policyUpdated = policy?.UpdatedAt;
                    _tailnet.SetPolicy(parsed);
                }
            }

            if (changes.All || changes.Relays)
            {
                var relays = await db.Relays.AsNoTracking().ToListAsync(cancellationToken);
                var signature = RelaySignature(relays);
                if (signature != _relaySignature)
                {
                    _relaySignature = signature;
                    _tailnet.SetRelayMap(BuildRelayMap(relays));
                }
            }

            List<NodeRow> rows;
            IEnumerable<string> ids;
            if (changes.All)
            {
                rows = await db.Nodes.AsNoTracking().ToListAsync(cancellationToken);
                ids = rows.Select(r => r.StableId).Concat(_tailnet.Snapshot().Select(n => n.StableId)).Distinct(StringComparer.Ordinal).ToList();
            }
            else if (changes.Nodes.Count > 0)
            {
                var wanted = changes.Nodes.ToList();
                rows = await db.Nodes.AsNoTracking().Where(n => wanted.Contains(n.StableId)).ToListAsync(cancellationToken);
                ids = wanted;
            }
            else
            {
                return;
            }

            if (rows.Any(r => !_userLogins.ContainsKey(r.UserId)))
            {
                // A user committed with the node but named in a payload this replica merged differently: load them.
                await ReloadUsersAsync(db, cancellationToken);
            }

            var byId = rows.ToDictionary(r => r.StableId, StringComparer.Ordinal);
            foreach (var id in ids)
            {
                var old = _tailnet.Find(id);
                if (!byId.TryGetValue(id, out var row))
                {
                    RemoveFromTailnet(old);
                    continue;
                }

                var updated = ToState(row) with { Online = old?.Online ?? _tailnet.HasStreams(id) };

                // Also when memory knew the node: a map request may have put it there without marking its address.
                _addresses.MarkUsed(updated.IPv4);
                if (old is null)
                {
                    _tailnet.Apply(null, updated);
                }
                else if (!SameInMaps(old, updated))
                {
                    _tailnet.Apply(old, updated);
                }
            }
        }
        finally
        {
            _write.Release();
        }
    }

    private async Task ReloadUsersAsync(ControlDbContext db, CancellationToken cancellationToken)
    {
        foreach (var user in await db.Users.AsNoTracking().ToListAsync(cancellationToken))
        {
            _userLogins[user.Id] = user.Login;
        }
    }

    /// <summary>
    /// True when a reloaded node would change nothing a stream shows. LastSeen alone is skipped: every map request
    /// writes it, and the writing replica does not send it either.
    /// </summary>
    private static bool SameInMaps(NodeState a, NodeState b) =>
        a.Name == b.Name && a.Hostname == b.Hostname && a.UserId == b.UserId && a.UserLogin == b.UserLogin
        && a.MachineKey == b.MachineKey && a.NodeKey == b.NodeKey && Equals(a.DiscoKey, b.DiscoKey)
        && a.IPv4.Equals(b.IPv4) && a.IPv6.Equals(b.IPv6) && a.Tags.SequenceEqual(b.Tags) && a.Endpoints.SequenceEqual(b.Endpoints)
        && a.HomeRelay == b.HomeRelay && a.Approved == b.Approved && a.Ephemeral == b.Ephemeral && a.KeyExpiry == b.KeyExpiry && a.Expired == b.Expired;

    private static string RelaySignature(IEnumerable<RelayRow> relays) =>
        string.Join('\n', relays.OrderBy(r => r.RegionId).ThenBy(r => r.HostName, StringComparer.Ordinal)
            .Select(r => $"{r.RegionId}|{r.RegionCode}|{r.RegionName}|{r.HostName}|{r.IPv4}|{r.IPv6}|{r.Port}|{r.StunPort}|{r.InsecureHttp}"));

    private static partial class Log
    {
        [LoggerMessage(EventId = 402, Level = LogLevel.Warning, Message = "applying another replica's change failed; reloading everything: {Reason}")]
        public static partial void RemoteApplyFailed(ILogger logger, string reason);
    }
}
