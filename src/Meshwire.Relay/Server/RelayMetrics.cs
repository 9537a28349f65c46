using System.Globalization;
using System.Text;

namespace Meshwire.Relay.Server;

/// <summary>Why the relay dropped a packet. Each value is one label of meshwire_relay_drops_total.</summary>
public enum RelayDropReason
{
    /// <summary>No client with that key is connected here or on a meshed relay.</summary>
    UnknownDestination,

    /// <summary>The destination's bounded send queue was full (it reads too slowly).</summary>
    QueueFull,

    /// <summary>The sender exceeded its per-connection byte rate.</summary>
    RateLimited,

    /// <summary>The meshed relay that has the destination is not reachable right now, or the link's queue is full.</summary>
    MeshUnavailable,

    /// <summary>The frame was malformed or oversized; the connection was closed.</summary>
    BadFrame,
}

/// <summary>Counters read by /metrics. Lock-free; every update is one interlocked operation.</summary>
public sealed class RelayMetrics
{
    private static readonly string[] DropLabels = ["unknown_destination", "queue_full", "rate_limited", "mesh_unavailable", "bad_frame"];

    private readonly long[] _drops = new long[DropLabels.Length];
    private long _connections;
    private long _connectionsAccepted;
    private long _meshConnections;
    private long _handshakeFailures;
    private long _notAdmitted;
    private long _packetsRelayed;
    private long _bytesRelayed;
    private long _packetsForwarded;

    public long Connections => Interlocked.Read(ref _connections);

    public long ConnectionsAccepted => Interlocked.Read(ref _connectionsAccepted);

    public long HandshakeFailures => Interlocked.Read(ref _handshakeFailures);

    public long NotAdmitted => Interlocked.Read(ref _notAdmitted);

    public long PacketsRelayed => Interlocked.Read(ref _packetsRelayed);

    public long BytesRelayed => Interlocked.Read(ref _bytesRelayed);

    public long PacketsForwarded => Interlocked.Read(ref _packetsForwarded);

    public long Drops(RelayDropReason reason) => Interlocked.Read(ref _drops[(int)reason]);

    internal void Drop(RelayDropReason reason) => Interlocked.Increment(ref _drops[(int)reason]);

    internal void Relayed(int bytes)
    {
        Interlocked.Increment(ref _packetsRelayed);
        Interlocked.Add(ref _bytesRelayed, bytes);
    }

    internal void Forwarded() => Interlocked.Increment(ref _packetsForwarded);

    internal void ConnectionOpened(bool mesh)
    {
        Interlocked.Increment(ref _connections);
        Interlocked.Increment(ref _connectionsAccepted);
        if (mesh)
        {
            Interlocked.Increment(ref _meshConnections);
        }
    }

    internal void ConnectionClosed(bool mesh)
    {
        Interlocked.Decrement(ref _connections);
        if (mesh)
        {
            Interlocked.Decrement(ref _meshConnections);
        }
    }

    internal void HandshakeFailed() => Interlocked.Increment(ref _handshakeFailures);

    internal void Refused() => Interlocked.Increment(ref _notAdmitted);

    /// <summary>Prometheus text exposition format 0.0.4.</summary>
    public void WritePrometheus(StringBuilder text)
    {
        Gauge(text, "meshwire_relay_connections", "Clients connected now (mesh peers included).", Connections);
        Gauge(text, "meshwire_relay_mesh_connections", "Meshed relays connected to this one now.", Interlocked.Read(ref _meshConnections));
        Counter(text, "meshwire_relay_connections_accepted_total", "Connections that completed the handshake.", ConnectionsAccepted);
        Counter(text, "meshwire_relay_handshake_failures_total", "Connections closed during the handshake (bad proof, timeout, garbage).", HandshakeFailures);
        Counter(text, "meshwire_relay_clients_refused_total", "Clients refused by --verify-clients or a wrong mesh key.", NotAdmitted);
        Counter(text, "meshwire_relay_packets_relayed_total", "Packets queued to a local client.", PacketsRelayed);
        Counter(text, "meshwire_relay_bytes_relayed_total", "Packet bytes queued to a local client.", BytesRelayed);
        Counter(text, "meshwire_relay_packets_forwarded_total", "Packets forwarded one hop to a meshed relay.", PacketsForwarded);
        text.Append("# HELP meshwire_relay_drops_total Packets dropped, by reason.\n# TYPE meshwire_relay_drops_total counter\n");
        for (var i = 0; i < DropLabels.Length; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"meshwire_relay_drops_total{{reason=\"{DropLabels[i]}\"}} {Interlocked.Read(ref _drops[i])}\n");
        }
    }

    internal static void Counter(StringBuilder text, string name, string help, long value) => Write(text, name, help, "counter", value);

    internal static void Gauge(StringBuilder text, string name, string help, long value) => Write(text, name, help, "gauge", value);

    private static void Write(StringBuilder text, string name, string help, string type, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {value}\n");
}
