using Meshwire.Agent.State;

namespace Meshwire.Agent.Tests;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class NodeStateStoreTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"meshwire-agent-test-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void Open_NewDirectory_CreatesKeysWithOwnerOnlyModes()
    {
        var store = NodeStateStore.Open(_directory);

        foreach (var path in new[] { store.MachineKeyPath, store.NodeKeyPath, store.DiscoKeyPath })
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_directory));
    }

    [Fact]
    public void Open_Twice_ReturnsSameKeys()
    {
        var first = NodeStateStore.Open(_directory).Keys;
        var second = NodeStateStore.Open(_directory).Keys;

        Assert.Equal(first.MachineKey, second.MachineKey);
        Assert.Equal(first.NodeKey, second.NodeKey);
        Assert.Equal(first.DiscoKey, second.DiscoKey);
        Assert.NotEqual(first.NodePublicKey.Value, first.MachinePublicKey.Value);
    }

    [Fact]
    public void Open_CorruptKey_Throws()
    {
        var store = NodeStateStore.Open(_directory);
        File.WriteAllText(store.NodeKeyPath, "garbage");
        Assert.Throws<InvalidDataException>(() => NodeStateStore.Open(_directory));
    }

    [Fact]
    public void SaveNetmap_ThenLoad_RoundTripsPeersAndSelf()
    {
        var store = NodeStateStore.Open(_directory);
        var map = Nodes.Map(Nodes.Node(1), Nodes.Node(2, endpoints: ["10.0.0.2:41641"]), Nodes.Node(3));

        store.SaveNetmap(map);
        var loaded = NodeStateStore.Open(_directory).LoadNetmap();

        Assert.NotNull(loaded);
        Assert.Equal(map.Self.NodeKey, loaded.Self.NodeKey);
        Assert.Equal(map.Self.Addresses, loaded.Self.Addresses);
        Assert.Equal(map.Peers.Keys.Order(), loaded.Peers.Keys.Order());
        Assert.Equal(map.Peers["n2"].NodeKey, loaded.Peers["n2"].NodeKey);
        Assert.Equal(map.Peers["n2"].Endpoints, loaded.Peers["n2"].Endpoints);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.NetmapPath));
    }

    [Fact]
    public void LoadNetmap_NoneOrCorrupt_ReturnsNull()
    {
        var store = NodeStateStore.Open(_directory);
        Assert.Null(store.LoadNetmap());
        File.WriteAllText(store.NetmapPath, "{ not json");
        Assert.Null(store.LoadNetmap());
    }

    [Fact]
    public void SavePrefs_ThenLoad_RoundTrips()
    {
        var store = NodeStateStore.Open(_directory);
        var prefs = new NodePrefs { LoginServer = "http://127.0.0.1:1/", ServerKey = new string('a', 64), Hostname = "h", Registered = true };

        store.SavePrefs(prefs);

        Assert.Equal(prefs, store.LoadPrefs());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.PrefsPath));
    }
}
