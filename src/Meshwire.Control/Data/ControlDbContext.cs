using Meshwire.Control.Replication;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control.Data;

/// <summary>The control database, same model on SQLite and PostgreSQL. Created per unit of work by the factory.</summary>
internal sealed class ControlDbContext(DbContextOptions<ControlDbContext> options) : DbContext(options)
{
    public DbSet<UserRow> Users => Set<UserRow>();

    public DbSet<AuthKeyRow> AuthKeys => Set<AuthKeyRow>();

    public DbSet<NodeRow> Nodes => Set<NodeRow>();

    public DbSet<ApiKeyRow> ApiKeys => Set<ApiKeyRow>();

    public DbSet<PolicyRow> Policies => Set<PolicyRow>();

    public DbSet<RelayRow> Relays => Set<RelayRow>();

    public DbSet<SchemaVersionRow> SchemaVersions => Set<SchemaVersionRow>();

    /// <summary>
    /// What this context's saves changed, recorded from the change tracker as each save starts (so every write path
    /// is covered without naming its changes by hand); the write sends it to the other replicas.
    /// </summary>
    public ChangeSet Changes { get; } = new();

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        RecordChanges();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        RecordChanges();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    private void RecordChanges()
    {
        ChangeTracker.DetectChanges();
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted))
            {
                continue;
            }

            switch (entry.Entity)
            {
                case NodeRow node:
                    Changes.Nodes.Add(node.StableId);
                    break;
                case PolicyRow:
                    Changes.Policy = true;
                    break;
                case RelayRow:
                    Changes.Relays = true;
                    break;
                case UserRow:
                    Changes.Users = true;
                    break;
            }
        }
    }

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<UserRow>(e =>
        {
            e.ToTable("users");
            e.HasIndex(u => u.Login).IsUnique();
        });
        model.Entity<AuthKeyRow>(e =>
        {
            e.ToTable("auth_keys");
            e.HasIndex(k => k.Prefix).IsUnique();
            e.HasOne<UserRow>().WithMany().HasForeignKey(k => k.UserId).OnDelete(DeleteBehavior.Restrict);
        });
        model.Entity<NodeRow>(e =>
        {
            e.ToTable("nodes");
            e.HasIndex(n => n.StableId).IsUnique();
            e.HasIndex(n => n.Name).IsUnique();
            e.HasIndex(n => n.MachineKey).IsUnique();
            e.HasIndex(n => n.NodeKey).IsUnique();
            e.HasIndex(n => n.IPv4).IsUnique();
            e.HasIndex(n => n.IPv6).IsUnique();
            e.HasOne<UserRow>().WithMany().HasForeignKey(n => n.UserId).OnDelete(DeleteBehavior.Restrict);
        });
        model.Entity<ApiKeyRow>(e =>
        {
            e.ToTable("api_keys");
            e.HasIndex(k => k.Prefix).IsUnique();
        });
        model.Entity<PolicyRow>(e =>
        {
            e.ToTable("policy");
            e.Property(p => p.Id).ValueGeneratedNever();
        });
        model.Entity<RelayRow>(e =>
        {
            e.ToTable("relays");
            e.HasIndex(r => new { r.RegionId, r.HostName }).IsUnique();
        });
        model.Entity<SchemaVersionRow>(e =>
        {
            e.ToTable("schema_versions");
            e.HasKey(v => v.Version);
            e.Property(v => v.Version).ValueGeneratedNever();
        });

        // SQLite cannot order or compare DateTimeOffset natively; store UTC ticks-free ISO text consistently.
        if (Database.IsSqlite())
        {
            foreach (var entity in model.Model.GetEntityTypes())
            {
                foreach (var property in entity.GetProperties())
                {
                    if (property.ClrType == typeof(DateTimeOffset) || property.ClrType == typeof(DateTimeOffset?))
                    {
                        property.SetValueConverter(typeof(Microsoft.EntityFrameworkCore.Storage.ValueConversion.DateTimeOffsetToBinaryConverter));
                    }
                }
            }
        }
    }
}
