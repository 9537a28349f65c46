using Meshwire.Control.Channel;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Tests;

/// <summary>Measures retained memory, so it runs alone: other tests' allocations would count as its own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    public const string Name = "memory measurement";
}

[Collection(MemoryMeasurementCollection.Name)]
public sealed class ReplayMemoryTests
{
    [Fact]
    public async Task ReplayTable_MemoryPerRememberedMachine_Small()
    {
        await using var server = await TestServer.StartAsync();
        var handler = ChannelLimitTests.Handler(server, new HandshakeReplayTable());
        var serverKey = new NodePublicKey(server.Server.ServerKey.Key.Value);
        var initiations = Enumerable.Range(0, 5000).Select(_ => ChannelLimitTests.Initiation(new LocalIdentity(X25519Keys.GeneratePrivateKey()), serverKey, server.Time)).ToList();

        var before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var initiation in initiations)
        {
            Assert.NotNull(ChannelLimitTests.Respond(handler, initiation));
        }

        var perMachine = (GC.GetTotalMemory(forceFullCollection: true) - before) / initiations.Count;
        GC.KeepAlive(handler);

        // A whole Handshake per machine cost about 1.7 KB; the table keeps a key, a timestamp and a time.
        Assert.True(perMachine < 400, $"{perMachine} bytes per machine");
    }
}
