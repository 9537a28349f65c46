using System.Net.Sockets;
using System.Text;
using Meshwire.Net.Uapi;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>
/// Clients that stop half way, send too much, or never finish: the server applies only whole requests and spends
/// bounded memory on each connection.
/// </summary>
public sealed class UapiServerHostileTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mw-uapi-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeDevice _device = new();

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    public static TheoryData<string> TruncatedSets => new()
    {
        "set=1\n",
        "set=1\nlisten_port=4242",
        "set=1\nlisten_port=4242\n",
        $"set=1\nreplace_peers=true\npublic_key={TestKeys.Hex(5)}\nallowed_ip=10.1.0.0/16\n",
        $"set=1\nlisten_port=4242\npublic_key={TestKeys.Hex(5)}\nremove=true\n",
        "set=1\nlisten_port=4242\r\n",
    };

    [Theory]
    [MemberData(nameof(TruncatedSets))]
    public async Task Set_ClientClosesBeforeBlankLine_AppliesNothingAndAnswersNothing(string request)
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        await client.SendAsync(request);
        client.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal(string.Empty, await client.ReadResponseAsync());
        Assert.Empty(_device.Applied);
    }

    [Fact]
    public async Task Set_ClientClosesAfterBlankLine_Applies()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        await client.SendAsync("set=1\nlisten_port=4242\n\n");
        client.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("errno=0\n\n", await client.ReadResponseAsync());
        Assert.Equal((ushort)4242, Assert.Single(_device.Applied).ListenPort);
    }

    [Fact]
    public async Task Set_SecondRequestCut_AppliesOnlyTheFirst()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        await client.SendAsync("set=1\nfwmark=1\n\nset=1\nfwmark=2\n");
        client.Socket.Shutdown(SocketShutdown.Send);

        Assert.Equal("errno=0\n\n", await client.ReadResponseAsync());
        Assert.Equal(string.Empty, await client.ReadResponseAsync());
        Assert.Equal(1u, Assert.Single(_device.Applied).FirewallMark);
    }

    [Theory]
    [InlineData("set=1\nlisten_port=")]
    [InlineData("set=1\n")]
    [InlineData("set=1\nlisten_port=1\n")]
    [InlineData("")]
    public async Task LineLongerThanBound_AnswersEmsgsizeClosesAndAppliesNothing(string prefix)
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        // One byte more than a line may hold, then the newline.
        var line = prefix.Split('\n')[^1];
        await client.SendAsync(prefix + new string('1', UapiLimits.MaxLineBytes + 1 - line.Length) + "\n\n", tolerateClose: true);

        Assert.Equal("errno=-90\n\n", await client.ReadResponseAsync());
        Assert.Equal(string.Empty, await client.ReadResponseAsync());
        Assert.Empty(_device.Applied);
    }

    [Fact]
    public async Task LineOfExactlyTheBound_IsRead()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        // A line of the longest length allowed is read and judged on its content (here: an invalid port).
        var response = await client.ExchangeAsync("set=1\nlisten_port=" + new string('1', UapiLimits.MaxLineBytes - "listen_port=".Length) + "\n\n");

        Assert.Equal("errno=-22\n\n", response);
        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("get=1\n\n"));
    }

    [Fact]
    public async Task Set_MoreLinesThanBound_AnswersEmsgsizeAndAppliesNothing()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        // A valid request in every line but too many of them: two million allowed IPs for one peer.
        await client.SendAsync($"set=1\nlisten_port=4242\npublic_key={TestKeys.Hex(5)}\n");
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("allowed_ip=10.0.0.1/32\n", 10_000)));
        for (var i = 0; i < 200 && await client.TrySendAsync(chunk); i++)
        {
        }

        await client.TrySendAsync("\n"u8.ToArray());

        Assert.Equal("errno=-90\n\n", await client.ReadResponseAsync());
        Assert.Empty(_device.Applied);
    }

    [Fact]
    public async Task Set_AtTheLineBound_IsApplied()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        // One public_key line and the rest allowed IPs: exactly the bound.
        var request = new StringBuilder($"set=1\npublic_key={TestKeys.Hex(5)}\n");
        for (var i = 1; i < UapiLimits.MaxRequestLines; i++)
        {
            request.Append("allowed_ip=10.").Append(i >> 16).Append('.').Append((i >> 8) & 255).Append('.').Append(i & 255).Append("/32\n");
        }

        Assert.Equal("errno=0\n\n", await client.ExchangeAsync(request.Append('\n').ToString()));
        Assert.Equal(UapiLimits.MaxRequestLines - 1, Assert.Single(Assert.Single(_device.Applied).Peers).AllowedIps.Count);
    }

    [Fact]
    public async Task InvalidSet_LongRejectedRequest_StaysInStep()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var client = await UapiClient.ConnectAsync(server);

        // The first line is bad; the rest of the request is read (and counted) but not parsed.
        var request = "set=1\nlisten_port=x\n" + string.Concat(Enumerable.Repeat("bogus\n", 1000)) + "\nget=1\n\n";

        Assert.Equal("errno=-22\n\n", await client.ExchangeAsync(request));
        Assert.Equal("errno=0\n\n", await client.ReadResponseAsync());
        Assert.Empty(_device.Applied);
    }

    [Fact]
    public async Task Get_WhileAnotherConnectionHoldsAPartialSet_Answers()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory);
        using var slow = await UapiClient.ConnectAsync(server);
        await slow.SendAsync("set=1\nlisten_port=4");

        using var client = await UapiClient.ConnectAsync(server);

        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("get=1\n\n"));
        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("set=1\nfwmark=7\n\n"));
        Assert.Equal(7u, Assert.Single(_device.Applied).FirewallMark);
    }
}
