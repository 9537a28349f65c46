using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Agent.State;

/// <summary>The node's long-lived secrets, as loaded from (or first created in) the state directory.</summary>
public sealed record NodeKeys(MachinePrivateKey MachineKey, NodePrivateKey NodeKey, DiscoPrivateKey DiscoKey)
{
    public NodePublicKey NodePublicKey => X25519Keys.PublicKeyOf(NodeKey);

    public DiscoPublicKey DiscoPublicKey => new(X25519Keys.PublicKeyOf(new NodePrivateKey(DiscoKey.Value)).Value);

    public MachinePublicKey MachinePublicKey => new(X25519Keys.PublicKeyOf(new NodePrivateKey(MachineKey.Value)).Value);
}

/// <summary>
/// What the node remembers between runs besides its keys: the control server it trusts (pinned on first use),
/// whether it registered there (so a restart renews instead of spending an auth key again), and what the user asked
/// for with <c>meshwire up</c> (want-running, hostname, tags).
/// </summary>
public sealed record NodePrefs
{
    public string? LoginServer { get; init; }

    /// <summary>The control server's machine key (64 hex), pinned on first contact.</summary>
    public string? ServerKey { get; init; }

    public string? Hostname { get; init; }

    /// <summary>Kept only until the first successful registration; cleared after it.</summary>
    public string? AuthKey { get; init; }

    public bool Registered { get; init; }

    /// <summary>True after <c>meshwire up</c>, false after <c>down</c> or <c>logout</c>: whether a (re)start joins the tailnet.</summary>
    public bool WantRunning { get; init; }

    /// <summary>Tags asked for with <c>--advertise-tags</c> ("tag:web"); kept and shown, not yet sent (the register message has no field for them).</summary>
    public IReadOnlyList<string>? AdvertiseTags { get; init; }
}
