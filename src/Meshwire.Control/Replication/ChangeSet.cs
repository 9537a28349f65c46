using System.Text;

namespace Meshwire.Control.Replication;

/// <summary>
/// What one committed transaction changed, as other replicas need to know it: which nodes (by stable id; the
/// receiver reloads each and treats a missing row as a removal), and whether the policy, the relays or the users
/// changed. <see cref="All"/> means "reload everything" (a listener that reconnected, or a change too large to name).
/// Payload (the NOTIFY text): space-separated tokens, "replica=ID" first, then "all", "policy", "relays", "users",
/// "nodes=ID,ID,..."; a token the receiver does not know makes it reload everything.
/// </summary>
internal sealed class ChangeSet
{
    /// <summary>PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay clear of it.</summary>
    public const int MaxPayloadBytes = 7900;

    public HashSet<string> Nodes { get; } = new(StringComparer.Ordinal);

    public bool Policy { get; set; }

    public bool Relays { get; set; }

    public bool Users { get; set; }

    public bool All { get; set; }

    public bool IsEmpty => !All && !Policy && !Relays && !Users && Nodes.Count == 0;

    public void UnionWith(ChangeSet other)
    {
        Nodes.UnionWith(other.Nodes);
        Policy |= other.Policy;
        Relays |= other.Relays;
        Users |= other.Users;
        All |= other.All;
    }

    /// <summary>The NOTIFY payload; falls back to "all" when naming every node would not fit.</summary>
    public string ToPayload(string replicaId)
    {
        var text = new StringBuilder("replica=").Append(replicaId);
        if (All)
        {
            return text.Append(" all").ToString();
        }

        if (Policy)
        {
            text.Append(" policy");
        }

        if (Relays)
        {
            text.Append(" relays");
        }

        if (Users)
        {
            text.Append(" users");
        }

        if (Nodes.Count > 0)
        {
            text.Append(" nodes=").AppendJoin(',', Nodes.Order(StringComparer.Ordinal));
        }

        return Encoding.UTF8.GetByteCount(text.ToString()) < MaxPayloadBytes ? text.ToString() : $"replica={replicaId} all";
    }

    /// <summary>Reads a payload; false when it is not one (the caller reloads everything).</summary>
    public static bool TryParse(string payload, out string replicaId, out ChangeSet changes)
    {
        replicaId = "";
        changes = new ChangeSet();
        var tokens = payload.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0 || !tokens[0].StartsWith("replica=", StringComparison.Ordinal) || tokens[0].Length == "replica=".Length)
        {
            return false;
        }

        replicaId = tokens[0]["replica=".Length..];
        foreach (var token in tokens.AsSpan(1))
        {
            switch (token)
            {
                case "all":
                    changes.All = true;
                    break;
                case "policy":
                    changes.Policy = true;
                    break;
                case "relays":
                    changes.Relays = true;
                    break;
                case "users":
                    changes.Users = true;
                    break;
                default:
                    if (token.StartsWith("nodes=", StringComparison.Ordinal))
                    {
                        changes.Nodes.UnionWith(token["nodes=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries));
                    }
                    else
                    {
                        // A newer replica names something this one does not know: be safe.
                        changes.All = true;
                    }

                    break;
            }
        }

        return true;
    }
}
