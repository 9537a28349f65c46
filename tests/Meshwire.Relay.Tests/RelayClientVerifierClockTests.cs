using System.Net;
using Meshwire.Relay.Server;
using Meshwire.Testing;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The verifier's answer cache lives in raw monotonic timestamps plus a TTL converted to the clock's frequency.
/// On a Linux host's clock (nanosecond timestamps) at weeks of uptime and 5 s before each overflow boundary of a
/// conversion, an answer is served from the cache for the TTL and asked again after it, across the edge.
/// </summary>
public sealed class RelayClientVerifierClockTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    public static TheoryData<double> Uptimes()
    {
        var data = new TheoryData<double> { UptimeClock.WeeksOfUptime.TotalSeconds };
        foreach (var boundary in UptimeClock.Boundaries)
        {
            data.Add((boundary - TimeSpan.FromSeconds(5)).TotalSeconds);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Uptimes))]
    public async Task IsAllowedAsync_AcrossUptimeBoundary_CachedForTtlThenAskedAgain(double uptimeSeconds)
    {
        var clock = new UptimeClock(TimeSpan.FromSeconds(uptimeSeconds));
        using var control = new CountingHandler();
        using var http = new HttpClient(control);
        var verifier = new HttpRelayClientVerifier(http, new Uri("http://control.test/"), clock, new RelayVerifierOptions { AllowedTtl = Ttl });
        var node = RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey());

        Assert.True(await verifier.IsAllowedAsync(node, IPAddress.Loopback, CancellationToken.None));
        Assert.Equal(1, control.Requests);

        clock.Advance(Ttl - TimeSpan.FromMilliseconds(1));
        Assert.True(await verifier.IsAllowedAsync(node, IPAddress.Loopback, CancellationToken.None));
        Assert.Equal(1, control.Requests);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await verifier.IsAllowedAsync(node, IPAddress.Loopback, CancellationToken.None));
        Assert.Equal(2, control.Requests);
    }

    /// <summary>Answers every verification with 200 and counts the requests.</summary>
    private sealed class CountingHandler : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }
}
