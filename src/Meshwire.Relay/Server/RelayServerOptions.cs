using Meshwire.Relay.Frames;
using Microsoft.Extensions.Logging;

namespace Meshwire.Relay.Server;

/// <summary>Settings of a relay server; the defaults suit a production relay.</summary>
public sealed class RelayServerOptions
{
    public required RelayPrivateKey PrivateKey { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>When set, only nodes it admits may connect (mesh peers excepted).</summary>
    public IRelayClientVerifier? Verifier { get; init; }

    /// <summary>When set, clients presenting this key are mesh peers: they may watch presence and forward packets.</summary>
    public RelayMeshKey? MeshKey { get; init; }

    /// <summary>Frames queued to one client before new ones are dropped.</summary>
    public int SendQueueCapacity { get; init; } = 32;

    /// <summary>Frames queued to one mesh peer (presence floods after a reconnect need room).</summary>
    public int MeshSendQueueCapacity { get; init; } = 8192;

    /// <summary>Bytes per second a client may send; 0 is unlimited. Mesh peers are not limited.</summary>
    public uint RateLimitBytesPerSecond { get; init; }

    /// <summary>Bucket size for the rate limit; at least one second's worth.</summary>
    public uint RateLimitBurstBytes { get; init; }

    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the server sends KeepAlive to every client (keeps NAT and proxies from timing out).</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    public ILoggerFactory? LoggerFactory { get; init; }
}
