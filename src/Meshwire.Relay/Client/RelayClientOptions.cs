using System.Net.Security;
using Meshwire.Relay.Frames;
using Microsoft.Extensions.Logging;

namespace Meshwire.Relay;

/// <summary>Settings of a <see cref="RelayClient"/>; the defaults suit the agent.</summary>
public sealed record RelayClientOptions
{
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public TimeSpan MinReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Limit for TCP connect, TLS, the upgrade and the key proof together.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames waiting to be written; <see cref="RelayClient.TrySend"/> drops beyond this.</summary>
    public int SendQueueCapacity { get; init; } = 256;

    /// <summary>Relays only: presenting the region's mesh key makes this a privileged mesh connection.</summary>
    public RelayMeshKey? MeshKey { get; init; }

    /// <summary>Relays only: subscribe to peer presence (PeerPresent/PeerGone) after each connect. Needs the mesh key.</summary>
    public bool WatchPeers { get; init; }

    /// <summary>Overrides TLS certificate validation for https relay URLs (tests, private CAs).</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    public ILoggerFactory? LoggerFactory { get; init; }
}
