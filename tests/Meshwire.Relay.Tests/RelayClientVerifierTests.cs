using System.Collections.Concurrent;
using System.Net;
using Meshwire.Core;
using Meshwire.Relay.Server;
using Meshwire.Testing;

namespace Meshwire.Relay.Tests;

/// <summary>
/// The relay's client verification against a fake control endpoint: bounded memory, one request per key per TTL,
/// lookups of one key coalesced, request budgets per source and in all. Clocks are <see cref="UptimeClock"/>s.
/// </summary>
public sealed class RelayClientVerifierTests
{
    private static readonly Uri Control = new("http://control.test/");

    [Fact]
    public async Task IsAllowed_ManyUnknownKeys_CacheBoundedAndOneRequestPerKeyPerTtl()
    {
        var clock = new UptimeClock();
        var control = new FakeControl();
        var options = new RelayVerifierOptions { Capacity = 500, RequestsPerSecondPerSource = 0, RequestsPerSecond = 0 };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, clock, options);
        var keys = Enumerable.Range(0, 2000).Select(_ => RandomKey()).ToList();

        foreach (var key in keys)
        {
            Assert.False(await verifier.IsAllowedAsync(key, IPAddress.Loopback, CancellationToken.None));
        }

        Assert.Equal(500, verifier.CachedAnswers);
        Assert.Equal(2000, control.Requests.Values.Sum());

        // The last 500 are remembered: asking again within the refused TTL costs nothing.
        foreach (var key in keys[^500..])
        {
            Assert.False(await verifier.IsAllowedAsync(key, IPAddress.Loopback, CancellationToken.None));
        }

        Assert.Equal(2000, control.Requests.Values.Sum());

        // After the TTL each is asked once more, and the table stays bounded.
        clock.Advance(options.RefusedTtl + TimeSpan.FromSeconds(1));
        foreach (var key in keys[^500..])
        {
            Assert.False(await verifier.IsAllowedAsync(key, IPAddress.Loopback, CancellationToken.None));
        }

        Assert.All(keys[^500..], k => Assert.Equal(2, control.Requests[k]));
        Assert.Equal(500, verifier.CachedAnswers);
    }

    [Fact]
    public async Task IsAllowed_AdmittedAndRefused_RememberedForTheirOwnTtl()
    {
        var clock = new UptimeClock();
        var known = RandomKey();
        var control = new FakeControl(known);
        var options = new RelayVerifierOptions { AllowedTtl = TimeSpan.FromSeconds(10), RefusedTtl = TimeSpan.FromSeconds(30) };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, clock, options);
        var unknown = RandomKey();

        Assert.True(await verifier.IsAllowedAsync(known, null, CancellationToken.None));
        Assert.False(await verifier.IsAllowedAsync(unknown, null, CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(11));
        Assert.True(await verifier.IsAllowedAsync(known, null, CancellationToken.None));
        Assert.False(await verifier.IsAllowedAsync(unknown, null, CancellationToken.None));

        Assert.Equal((2, 1), (control.Requests[known], control.Requests[unknown]));
    }

    [Fact]
    public async Task IsAllowed_ConcurrentLookupsOfOneKey_OneRequest()
    {
        var known = RandomKey();
        var control = new FakeControl(known) { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, new UptimeClock());

        var checks = Enumerable.Range(0, 50).Select(_ => verifier.IsAllowedAsync(known, IPAddress.Loopback, CancellationToken.None).AsTask()).ToList();
        await control.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        control.Gate.SetResult();

        Assert.All(await Task.WhenAll(checks), Assert.True);
        Assert.Equal(1, control.Requests[known]);
    }

    [Fact]
    public async Task IsAllowed_OneSourceOverItsBudget_RefusedWithoutAskingOthersStillServed()
    {
        var clock = new UptimeClock();
        var control = new FakeControl();
        var options = new RelayVerifierOptions { RequestsPerSecondPerSource = 1, BurstPerSource = 5, RequestsPerSecond = 0 };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, clock, options);
        var attacker = IPAddress.Parse("2001:db8:1:2::10");
        var sameSlash64 = IPAddress.Parse("2001:db8:1:2::99");

        for (var i = 0; i < 5; i++)
        {
            Assert.False(await verifier.IsAllowedAsync(RandomKey(), attacker, CancellationToken.None));
        }

        Assert.False(await verifier.IsAllowedAsync(RandomKey(), sameSlash64, CancellationToken.None));
        Assert.Equal(5, control.Requests.Values.Sum());
        Assert.Equal(1, verifier.RateLimited);

        // Another source has its own budget; the attacker's refills with time.
        var known = RandomKey();
        control.Known.Add(known);
        Assert.True(await verifier.IsAllowedAsync(known, IPAddress.Parse("192.0.2.7"), CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await verifier.IsAllowedAsync(RandomKey(), attacker, CancellationToken.None));
        Assert.Equal(7, control.Requests.Values.Sum());
    }

    [Fact]
    public async Task IsAllowed_GlobalBudgetSpent_RefusedUntilRefilled()
    {
        var clock = new UptimeClock();
        var known = RandomKey();
        var control = new FakeControl(known);
        var options = new RelayVerifierOptions { RequestsPerSecondPerSource = 0, RequestsPerSecond = 10, Burst = 10 };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, clock, options);
        for (var i = 0; i < 10; i++)
        {
            await verifier.IsAllowedAsync(RandomKey(), IPAddress.Parse($"198.51.100.{i + 1}"), CancellationToken.None);
        }

        Assert.False(await verifier.IsAllowedAsync(known, IPAddress.Parse("203.0.113.1"), CancellationToken.None));
        clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.True(await verifier.IsAllowedAsync(known, IPAddress.Parse("203.0.113.1"), CancellationToken.None));
        Assert.Equal(11, control.Requests.Values.Sum());
    }

    [Fact]
    public async Task IsAllowed_ControlFails_RefusedAndNotRemembered()
    {
        var known = RandomKey();
        var control = new FakeControl(known) { Status = HttpStatusCode.InternalServerError };
        var verifier = new HttpRelayClientVerifier(new HttpClient(control), Control, new UptimeClock());

        Assert.False(await verifier.IsAllowedAsync(known, null, CancellationToken.None));
        control.Status = null;
        Assert.True(await verifier.IsAllowedAsync(known, null, CancellationToken.None));
        Assert.Equal(2, control.Requests[known]);
    }

    private static NodePublicKey RandomKey()
    {
        var bytes = new byte[32];
        Random.Shared.NextBytes(bytes);
        return new NodePublicKey(Key32.FromSpan(bytes));
    }

    /// <summary>Control's verify endpoint: 200 for known keys, 404 otherwise (or a forced status); counts requests per key.</summary>
    private sealed class FakeControl(params NodePublicKey[] known) : HttpMessageHandler
    {
        public ConcurrentBag<NodePublicKey> Known { get; } = [.. known];

        public ConcurrentDictionary<NodePublicKey, int> Requests { get; } = new();

        public HttpStatusCode? Status { get; set; }

        /// <summary>When set, requests wait for it (after signalling <see cref="Arrived"/>).</summary>
        public TaskCompletionSource? Gate { get; init; }

        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal("/api/v1/relay/verify", request.RequestUri!.AbsolutePath);
            var hex = request.RequestUri.Query["?nodekey=".Length..];
            Assert.True(Key32.TryParseHex(hex, out var raw));
            var key = new NodePublicKey(raw);
            Requests.AddOrUpdate(key, 1, (_, n) => n + 1);
            Arrived.TrySetResult();
            if (Gate is not null)
            {
                await Gate.Task.WaitAsync(cancellationToken);
            }

            var status = Status ?? (Known.Contains(key) ? HttpStatusCode.OK : HttpStatusCode.NotFound);
            return new HttpResponseMessage(status);
        }
    }
}
