using Meshwire.Net.Uapi;

namespace Meshwire.Net.Tests.Uapi;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AllocationMeasuringCollection
{
    /// <summary>Tests that count the process's allocated bytes run alone, so no other test's allocations are counted.</summary>
    public const string Name = "Allocation measuring";
}

/// <summary>What one hostile connection costs the server, measured as bytes allocated in the whole process.</summary>
[Collection(AllocationMeasuringCollection.Name)]
public sealed class UapiServerMemoryTests : IDisposable
{
    private const int HundredMegabytes = 100 << 20;

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mw-uapi-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeDevice _device = new();

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Set_HundredMegabyteLine_IsRefusedWithoutBufferingIt()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);
        var chunk = new byte[64 << 10];
        chunk.AsSpan().Fill((byte)'a');
        await client.SendAsync("set=1\nprivate_key=");
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        // At most 100 MB of one line, until the server stops reading; then the line's end, if it still listens.
        long sent = 0;
        while (sent < HundredMegabytes && await client.TrySendAsync(chunk))
        {
            sent += chunk.Length;
        }

        await client.TrySendAsync("\n\n"u8.ToArray());
        var response = await client.ReadResponseAsync();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;

        Assert.Equal("errno=-90\n\n", response);
        Assert.True(sent < HundredMegabytes, $"the server read all {sent} bytes of the line");
        Assert.True(allocated < 4 << 20, $"{allocated} bytes allocated while refusing one line");
        Assert.Empty(_device.Applied);
    }
}

/// <summary>What the largest set request holds while it is parsed: the bound on lines bounds it.</summary>
[Collection(AllocationMeasuringCollection.Name)]
public sealed class UapiRequestMemoryTests
{
    public static TheoryData<string> WorstLines => new()
    {
        // Every line a new peer; every line an IPv6 allowed IP (an address object and its array each).
        "public_key={0}\n",
        "allowed_ip=fd00:{1}::1/128\n",
    };

    [Theory]
    [MemberData(nameof(WorstLines))]
    public void TryRead_LargestRequest_HoldsAtMostTwentyFourMegabytes(string format)
    {
        var stream = new MemoryStream();
        stream.Write(System.Text.Encoding.ASCII.GetBytes($"set=1\npublic_key={TestKeys.Hex(1)}\n"));
        for (var i = 1; i < UapiLimits.MaxRequestLines; i++)
        {
            var key = Meshwire.Core.Key32.FromSpan(BitConverter.GetBytes((long)i).Concat(new byte[24]).ToArray()).ToHex();
            stream.Write(System.Text.Encoding.ASCII.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, key, (i & 0xffff).ToString("x", System.Globalization.CultureInfo.InvariantCulture) + ":" + (i >> 16).ToString("x", System.Globalization.CultureInfo.InvariantCulture))));
        }

        stream.Write("\n"u8);
        var bytes = stream.ToArray();
        var reader = new UapiRequestReader();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var result = reader.TryRead(bytes);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before;

        Assert.Equal(UapiReadStatus.Set, result.Status);
        Assert.True(held < 24 << 20, $"{held} bytes held by one request");
        GC.KeepAlive(result);
    }
}
