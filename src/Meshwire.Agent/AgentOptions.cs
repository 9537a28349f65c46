namespace Meshwire.Agent;

/// <summary>How the agent reaches control and presents itself.</summary>
public sealed class AgentOptions
{
    /// <summary>The coordination server ("https://control.example").</summary>
    public required Uri LoginServer { get; init; }

    /// <summary>Pre-auth key for the first registration; absent: renew, or interactive login later.</summary>
    public string? AuthKey { get; init; }

    public required string Hostname { get; init; }

    /// <summary>UDP port of the WireGuard engine; null keeps the engine's current (random) port.</summary>
    public ushort? ListenPort { get; init; }

    /// <summary>Direct endpoints ("ip:port") to advertise, asked at each connection; given the engine's listen port.</summary>
    public Func<ushort, IReadOnlyList<string>> Endpoints { get; init; } = _ => [];

    /// <summary>First wait before reconnecting to control; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
