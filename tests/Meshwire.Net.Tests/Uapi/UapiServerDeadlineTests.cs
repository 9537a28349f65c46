using System.Text;
using Meshwire.Net.Uapi;
using Meshwire.Testing;

namespace Meshwire.Net.Tests.Uapi;

/// <summary>The request deadline, on a fake clock: a client that never finishes is closed, and its set is not applied.</summary>
public sealed class UapiServerDeadlineTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "mw-uapi-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly FakeDevice _device = new();
    private readonly UptimeClock _clock = new();

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Set_OneBytePerSecond_ClosedAtDeadlineAndAppliesNothing()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory, timeProvider: _clock);
        using var client = await UapiClient.ConnectAsync(server);
        var started = _clock.GetUtcNow();

        // A request that never ends, one byte per simulated second: every byte is a valid part of a set.
        var request = Encoding.ASCII.GetBytes("set=1\nlisten_port=4242\n" + string.Concat(Enumerable.Repeat("fwmark=1\n", 100)));
        var closed = false;
        for (var i = 0; i < request.Length && !closed; i++)
        {
            closed = !await client.TrySendAsync(request[i..(i + 1)]) || client.IsClosedByServer(TimeSpan.FromMilliseconds(20));
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        closed = closed || client.IsClosedByServer(TimeSpan.FromSeconds(5));
        Assert.True(closed, "the server still listens to a request that has been trickling for " + (_clock.GetUtcNow() - started));
        Assert.True(_clock.GetUtcNow() - started >= UapiLimits.RequestTimeout, "closed before the deadline");
        Assert.Empty(_device.Applied);
    }

    [Fact]
    public async Task IdleConnection_ClosedAtDeadline()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory, timeProvider: _clock);
        using var client = await UapiClient.ConnectAsync(server);
        var started = _clock.GetUtcNow();

        var closed = false;
        for (var i = 0; i < 300 && !closed; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            closed = client.IsClosedByServer(TimeSpan.FromMilliseconds(20));
        }

        Assert.True(closed, "an idle connection is still open after " + (_clock.GetUtcNow() - started));
        Assert.True(_clock.GetUtcNow() - started >= UapiLimits.RequestTimeout, "closed before the deadline");
    }

    [Fact]
    public async Task Connection_EachRequestGetsItsOwnDeadline()
    {
        await using var server = UapiServer.Start("mw0", _device, _directory, timeProvider: _clock);
        using var client = await UapiClient.ConnectAsync(server);
        var almost = UapiLimits.RequestTimeout - TimeSpan.FromSeconds(1);

        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("get=1\n\n"));
        _clock.Advance(almost);
        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("set=1\nfwmark=1\n\n"));
        _clock.Advance(almost);
        Assert.Equal("errno=0\n\n", await client.ExchangeAsync("set=1\nfwmark=2\n\n"));

        Assert.Equal([1u, 2u], _device.Applied.Select(u => u.FirewallMark!.Value));
    }
}
