using System.Text.Json;
using System.Text.Json.Serialization;
using Meshwire.Control.Client;
using Meshwire.Core;
using Meshwire.Protocol;
using Meshwire.Shared;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Agent.State;

/// <summary>
/// The state directory of meshwired (default /var/lib/meshwire):
///   machine.key, node.key, disco.key  hex private keys, created once, mode 0600;
///   prefs.json                        <see cref="NodePrefs"/>, mode 0600 (may hold an auth key);
///   netmap.json                       the last map as a map-full wire message, so the node keeps its tunnels
///                                     across a restart while control is down.
/// Files are written to a temporary name and renamed so a crash never leaves half a file.
/// The disco key is kept too: this slice has no discovery yet, and a stable key keeps maps quiet across restarts.
/// </summary>
public sealed class NodeStateStore
{
    public const string DefaultDirectory = "/var/lib/meshwire";

    private const UnixFileMode SecretMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    // File modes are the store's protection of the keys; without them it refuses to run.
    private const string UnixOnly = "the node state store needs Unix file modes";

    private NodeStateStore(string directory, NodeKeys keys, IReadOnlyList<string> warnings)
    {
        Directory = directory;
        Keys = keys;
        Warnings = warnings;
    }

    /// <summary>What <see cref="Open"/> found wrong with modes and fixed or left alone; the daemon prints them at start.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public string Directory { get; }

    public NodeKeys Keys { get; }

    public string MachineKeyPath => Path.Combine(Directory, "machine.key");

    public string NodeKeyPath => Path.Combine(Directory, "node.key");

    public string DiscoKeyPath => Path.Combine(Directory, "disco.key");

    public string PrefsPath => Path.Combine(Directory, "prefs.json");

    public string NetmapPath => Path.Combine(Directory, "netmap.json");

    /// <summary>
    /// Opens the directory, creating it (0700) and any missing key (0600). An existing directory open to other users
    /// is left as it is with a warning (it may be the administrator's choice); an existing key, prefs or map file
    /// open to others is narrowed to owner-only with a warning (these files are the daemon's own).
    /// </summary>
    public static NodeStateStore Open(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(UnixOnly);
        }

        var warnings = new List<string>();
        if (SecretFile.PrepareDirectory(directory) is { } loose)
        {
            warnings.Add(loose);
        }

        foreach (var name in (string[])["machine.key", "node.key", "disco.key", "prefs.json", "netmap.json"])
        {
            if (SecretFile.Tighten(Path.Combine(directory, name)) is { } narrowed)
            {
                warnings.Add(narrowed);
            }
        }

        var machine = LoadOrCreateKey(Path.Combine(directory, "machine.key"));
        var node = LoadOrCreateKey(Path.Combine(directory, "node.key"));
        var disco = LoadOrCreateKey(Path.Combine(directory, "disco.key"));
        return new NodeStateStore(directory, new NodeKeys(new MachinePrivateKey(machine), new NodePrivateKey(node), new DiscoPrivateKey(disco)), warnings);
    }

    public NodePrefs LoadPrefs()
    {
        if (!File.Exists(PrefsPath))
        {
            return new NodePrefs();
        }

        return JsonSerializer.Deserialize(File.ReadAllBytes(PrefsPath), AgentJsonContext.Default.NodePrefs) ?? new NodePrefs();
    }

    public void SavePrefs(NodePrefs prefs) =>
        WriteSecret(PrefsPath, JsonSerializer.SerializeToUtf8Bytes(prefs, AgentJsonContext.Default.NodePrefs));

    /// <summary>The cached map, or null when there is none or it cannot be read (a stale cache is never fatal).</summary>
    public NetmapView? LoadNetmap()
    {
        if (!File.Exists(NetmapPath))
        {
            return null;
        }

        return ProtocolJson.TryDeserialize(File.ReadAllBytes(NetmapPath), out var message, out _) && message is MapFull full
            ? NetmapView.From(full)
            : null;
    }

    public void SaveNetmap(NetmapView view)
    {
        var full = new MapFull
        {
            Seq = view.Seq,
            Self = view.Self,
            Peers = [.. view.Peers.Values],
            RelayMap = view.RelayMap,
            Dns = view.Dns,
            PacketFilter = view.PacketFilter,
        };
        WriteSecret(NetmapPath, ProtocolJson.Serialize(full));
    }

    /// <summary>Forgets the cached map (logout: the next login starts from control's map).</summary>
    public void DeleteNetmap() => File.Delete(NetmapPath);

    private static Key32 LoadOrCreateKey(string path)
    {
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            if (!Key32.TryParseHex(text, out var key) || key.IsZero)
            {
                throw new InvalidDataException($"{path} does not hold a 64-hex-digit key; move it away to create a new one");
            }

            return key;
        }

        var created = X25519Keys.GeneratePrivateKey().Value;
        WriteSecret(path, System.Text.Encoding.ASCII.GetBytes(created.ToHex() + "\n"));
        return created;
    }

    private static void WriteSecret(string path, byte[] content)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException(UnixOnly);
        }

        var temporary = path + ".tmp";
        File.Delete(temporary);
        using (var stream = new FileStream(temporary, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = SecretMode,
        }))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(NodePrefs))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
