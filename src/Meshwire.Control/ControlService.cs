using System.Net;
using Meshwire.Control.Data;
using Meshwire.Control.Hosting;
using Meshwire.Control.Replication;
using Meshwire.Control.State;
using Meshwire.Core;
using Meshwire.Policy.Parsing;
using Meshwire.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control;

/// <summary>
/// The coordination server's operations. Every change runs under one write lock: validate, write the database in
/// one transaction (a refused request writes nothing), then apply the change to the in-memory <see cref="Tailnet"/>,
/// which fans it out to the map streams. Reads of the tailnet need no write lock.
/// </summary>
public sealed partial class ControlService : IAsyncDisposable
{
    /// <summary>The policy of a new tailnet: every node may reach every other (what Tailscale starts with).</summary>
    public const string DefaultPolicy = """
        // Default policy: every node may reach every node on every port.
        {
          "acls": [
            {"action": "accept", "src": ["*"], "dst": ["*:*"]},
          ],
        }
        """;

    private readonly SemaphoreSlim _write = new(1, 1);
    private readonly DatabaseOptions _database;
    private readonly ControlOptions _options;
    private readonly AddressAllocator _addresses = new();
    private readonly Dictionary<long, string> _userLogins = [];
    private Tailnet _tailnet = null!;
    private string _policyText = DefaultPolicy;
    private DateTimeOffset? _policyUpdated;

    private ControlService(ControlOptions options, DatabaseOptions database)
    {
        _options = options;
        _database = database;
    }

    internal Tailnet Tailnet => _tailnet;

    internal ControlOptions Options => _options;

    internal TimeProvider Time => _options.Time;

    /// <summary>Wall clock truncated to whole milliseconds: what the database stores, so memory and a restart agree.</summary>
    internal DateTimeOffset Now
    {
        get
        {
            var now = _options.Time.GetUtcNow();
            return now.AddTicks(-(now.Ticks % TimeSpan.TicksPerMillisecond));
        }
    }

    internal DatabaseKind DatabaseKind => _database.Kind;

    /// <summary>Opens (and migrates) the database and loads the tailnet into memory.</summary>
    public static async Task<ControlService> OpenAsync(ControlOptions options, CancellationToken cancellationToken = default)
    {
        var database = DatabaseOptions.Parse(options.Database, options.StateDirectory);
        StateFiles.Prepare(options.StateDirectory, database, options.Warn);
        var service = new ControlService(options, database);
        await using (var db = service.CreateDb())
        {
            await SchemaMigrator.MigrateAsync(db, database.Kind, cancellationToken);
        }

        await service.LoadAsync(cancellationToken);
        return service;
    }

    internal ControlDbContext CreateDb()
    {
        var builder = new DbContextOptionsBuilder<ControlDbContext>();
        _database.Configure(builder);
        return new ControlDbContext(builder.Options);
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        await using var db = CreateDb();
        foreach (var user in await db.Users.AsNoTracking().ToListAsync(cancellationToken))
        {
            _userLogins[user.Id] = user.Login;
        }

        var policy = await db.Policies.AsNoTracking().SingleOrDefaultAsync(p => p.Id == 1, cancellationToken);
        if (policy is not null)
        {
            _policyText = policy.Text;
            _policyUpdated = policy.UpdatedAt;
        }

        var nodes = new List<NodeState>();
        foreach (var row in await db.Nodes.AsNoTracking().ToListAsync(cancellationToken))
        {
            var node = ToState(row);
            _addresses.MarkUsed(node.IPv4);
            nodes.Add(node);
        }

        _addresses.ResumeAfterHighest();
        var relays = await db.Relays.AsNoTracking().ToListAsync(cancellationToken);
        _relaySignature = RelaySignature(relays);
        _tailnet = new Tailnet(PolicyParser.Parse(_policyText), nodes, BuildRelayMap(relays), new DnsConfig { Suffix = _options.DnsSuffix }, _options.Time);
    }

    internal NodeState ToState(NodeRow row) => new()
    {
        DbId = row.Id,
        StableId = row.StableId,
        Name = row.Name,
        Hostname = row.Hostname,
        UserId = row.UserId,
        UserLogin = _userLogins.GetValueOrDefault(row.UserId, "unknown"),
        MachineKey = KeyParsing.TryParseMachineKey(row.MachineKey, out var mk) ? mk : throw new InvalidDataException($"node {row.StableId}: bad machine key"),
        NodeKey = KeyParsing.TryParseNodeKey(row.NodeKey, out var nk) ? nk : throw new InvalidDataException($"node {row.StableId}: bad node key"),
        DiscoKey = KeyParsing.TryParseDiscoKey(row.DiscoKey, out var dk) ? dk : null,
        IPv4 = IPAddress.Parse(row.IPv4),
        IPv6 = IPAddress.Parse(row.IPv6),
        Tags = SplitList(row.Tags),
        Endpoints = SplitList(row.Endpoints),
        HomeRelay = row.HomeRelay,
        Approved = row.Approved,
        Ephemeral = row.Ephemeral,
        KeyExpiry = row.KeyExpiry,
        Expired = row.Expired,
        CreatedAt = row.CreatedAt,
        LastSeen = row.LastSeen,
        Online = _tailnet?.HasStreams(row.StableId) ?? false,
    };

    internal static string[] SplitList(string text) => text.Length == 0 ? [] : text.Split(',');

    internal static RelayMap BuildRelayMap(IEnumerable<RelayRow> relays) => new()
    {
        Regions = [.. relays.GroupBy(r => r.RegionId).OrderBy(g => g.Key).Select(g => new RelayRegion
        {
            RegionId = g.Key,
            Code = g.First().RegionCode,
            Name = g.First().RegionName,
            Nodes = [.. g.Select(r => new RelayNode { Name = r.HostName, HostName = r.HostName, IPv4 = r.IPv4, IPv6 = r.IPv6, Port = r.Port, StunPort = r.StunPort, InsecureForTests = r.InsecureHttp })],
        })],
    };

    /// <summary>
    /// Runs <paramref name="work"/> in one transaction under the write lock. The actions it adds to the list run
    /// only after the commit (still under the lock, so changes reach the tailnet in commit order). A
    /// <see cref="ControlException"/> or any failure rolls everything back.
    /// </summary>
    private async Task<T> WriteAsync<T>(Func<ControlDbContext, List<Action>, Task<T>> work, CancellationToken cancellationToken)
    {
        await _write.WaitAsync(cancellationToken);
        try
        {
            var after = new List<Action>();
            T result;
            await using (var db = CreateDb())
            {
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                result = await work(db, after);
                if (_database.Kind == DatabaseKind.Postgres && !db.Changes.IsEmpty)
                {
                    // Inside the transaction: PostgreSQL delivers it on commit, and never for a rollback.
                    var payload = db.Changes.ToPayload(ReplicaId);
                    await db.Database.ExecuteSqlAsync($"SELECT pg_notify({ChangeListener.Channel}, {payload})", cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            }

            foreach (var action in after)
            {
                action();
            }

            return result;
        }
        finally
        {
            _write.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopReplicaSyncAsync();
        _write.Dispose();
    }
}
