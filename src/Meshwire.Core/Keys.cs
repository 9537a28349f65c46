namespace Meshwire.Core;

// One type per kind of key (ARCHITECTURE.md "Keys"), so a disco key can never be passed where a node key is wanted.
// Each wraps a Key32 and prints with its own prefix; private keys never print their bytes.

/// <summary>The WireGuard static private key of a node. Never leaves the machine.</summary>
public readonly record struct NodePrivateKey(Key32 Value)
{
    public static NodePrivateKey FromSpan(ReadOnlySpan<byte> bytes) => new(Key32.FromSpan(bytes));

    public bool IsZero => Value.IsZero;

    public override string ToString() => "privkey:<redacted>";
}

/// <summary>The WireGuard static public key: what peers and relays know a node by.</summary>
public readonly record struct NodePublicKey(Key32 Value)
{
    public const string Prefix = "nodekey:";

    public static NodePublicKey FromSpan(ReadOnlySpan<byte> bytes) => new(Key32.FromSpan(bytes));

    public bool IsZero => Value.IsZero;

    public override string ToString() => Prefix + Value.ToHex();
}

/// <summary>An optional WireGuard preshared symmetric key mixed into the handshake (all zero when unused).</summary>
public readonly record struct PresharedKey(Key32 Value)
{
    public static PresharedKey None => default;

    public static PresharedKey FromSpan(ReadOnlySpan<byte> bytes) => new(Key32.FromSpan(bytes));

    public bool IsZero => Value.IsZero;

    public override string ToString() => "psk:<redacted>";
}

/// <summary>Identifies a machine to the coordination server; authenticates the control channel.</summary>
public readonly record struct MachinePublicKey(Key32 Value)
{
    public const string Prefix = "mkey:";

    public override string ToString() => Prefix + Value.ToHex();
}

/// <summary>Seals discovery messages between nodes; rotates on restart.</summary>
public readonly record struct DiscoPublicKey(Key32 Value)
{
    public const string Prefix = "discokey:";

    public override string ToString() => Prefix + Value.ToHex();
}

/// <summary>The machine's private key: the static key of the control channel's initiator. Never leaves the machine.</summary>
public readonly record struct MachinePrivateKey(Key32 Value)
{
    public static MachinePrivateKey FromSpan(ReadOnlySpan<byte> bytes) => new(Key32.FromSpan(bytes));

    public bool IsZero => Value.IsZero;

    public override string ToString() => "mkeypriv:<redacted>";
}

/// <summary>The disco private key: seals discovery messages. Never leaves the machine.</summary>
public readonly record struct DiscoPrivateKey(Key32 Value)
{
    public static DiscoPrivateKey FromSpan(ReadOnlySpan<byte> bytes) => new(Key32.FromSpan(bytes));

    public bool IsZero => Value.IsZero;

    public override string ToString() => "discopriv:<redacted>";
}
