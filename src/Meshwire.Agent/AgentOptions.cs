namespace Meshwire.Agent;

/// <summary>How the agent reaches control and presents itself.</summary>
public sealed class AgentOptions
{
    /// <summary>
    /// Set: an unattended <c>up</c> at every start (meshwired's --login-server, for servers): the prefs get this server,
    /// <see cref="Hostname"/> and want-running. Null: the agent waits for <c>meshwire up</c>, or resumes what the prefs want.
    /// </summary>
    public Uri? LoginServer { get; init; }

    /// <summary>Pre-auth key for the first registration of the unattended up; absent: renew, or interactive login.</summary>
    public string? AuthKey { get; init; }

    /// <summary>Name used when neither an up nor the prefs give one; null: this machine's host name.</summary>
    public string? Hostname { get; init; }

    /// <summary>UDP port of the WireGuard engine; null keeps the engine's current (random) port.</summary>
    public ushort? ListenPort { get; init; }

    /// <summary>Direct endpoints ("ip:port") to advertise, asked at each connection; given the engine's listen port.</summary>
    public Func<ushort, IReadOnlyList<string>> Endpoints { get; init; } = _ => [];

    /// <summary>First wait before reconnecting to control; doubles up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long logout waits for control to confirm before forgetting the registration anyway.</summary>
    public TimeSpan LogoutTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
