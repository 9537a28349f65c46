using System.Net;
using Meshwire.Core;

namespace Meshwire.Relay.Server;

/// <summary>Decides whether a node that proved its key may use the relay.</summary>
public interface IRelayClientVerifier
{
    /// <param name="node">The key the client proved it holds.</param>
    /// <param name="source">The client's address as the relay sees it (null when unknown); limits count by it.</param>
    ValueTask<bool> IsAllowedAsync(NodePublicKey node, IPAddress? source, CancellationToken cancellationToken);
}

/// <summary>Bounds of <see cref="HttpRelayClientVerifier"/>; the defaults suit a production relay.</summary>
public sealed record RelayVerifierOptions
{
    /// <summary>How long an admitted key is remembered.</summary>
    public TimeSpan AllowedTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a refused key is remembered (a client retrying an unknown key asks control once per this).</summary>
    public TimeSpan RefusedTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Answers kept at most; past it the oldest go first (expired ones before that).</summary>
    public int Capacity { get; init; } = 65_536;

    /// <summary>Requests to control one source address may cause, per second (IPv6 counted per /64); 0 is unlimited.</summary>
    public uint RequestsPerSecondPerSource { get; init; } = 2;

    public uint BurstPerSource { get; init; } = 20;

    /// <summary>Requests to control in all, per second; 0 is unlimited.</summary>
    public uint RequestsPerSecond { get; init; } = 50;

    public uint Burst { get; init; } = 200;

    /// <summary>Source addresses whose buckets are tracked at most; past it new sources share one bucket.</summary>
    public int SourceCapacity { get; init; } = 16_384;
}

/// <summary>
/// Asks the coordination server: GET {base}/api/v1/relay/verify?nodekey=&lt;hex&gt;; 200 admits, 404 refuses.
/// Flow of one check: a remembered answer (admitted for AllowedTtl, refused for RefusedTtl) is returned at once; a
/// lookup of the same key already in flight is joined (concurrent connections of one key cost one request); else
/// the source's and the global request budgets are charged and one request goes out. Over a budget, or on any other
/// status or a network error, the client is refused without remembering it (fail closed: a relay open to everyone is
/// the worse failure, and the key is asked about again once the budget allows).
/// Memory is bounded: at most Capacity answers (in insertion order, so the oldest, which expire first, leave first)
/// and SourceCapacity per-source buckets. Time is the TimeProvider's monotonic clock. Thread-safe.
/// </summary>
public sealed class HttpRelayClientVerifier : IRelayClientVerifier
{
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly RelayVerifierOptions _options;
    private readonly long _started;

    // Guarded by _lock: the answers (index and insertion order), the lookups in flight, and the request budgets.
    private readonly Lock _lock = new();
    private readonly Dictionary<NodePublicKey, LinkedListNode<Answer>> _answers = [];
    private readonly LinkedList<Answer> _order = new();
    private readonly Dictionary<NodePublicKey, Task<bool?>> _inFlight = [];
    private readonly KeyedRateLimiter<SourceAddress> _sources;
    private TokenBucket _global;

    // Counters, read without the lock.
    private long _requests;
    private long _rateLimited;

    public HttpRelayClientVerifier(HttpClient http, Uri baseUrl, TimeProvider? timeProvider = null, RelayVerifierOptions? options = null)
    {
        _http = http;
        _baseUrl = baseUrl;
        _time = timeProvider ?? TimeProvider.System;
        _options = options ?? new RelayVerifierOptions();
        _started = _time.GetTimestamp();
        _global = new TokenBucket(_options.RequestsPerSecond, _options.Burst, TimeSpan.Zero);

        // Full buckets are swept out at most once a second; a bucket holds at least one second of its rate.
        _sources = new KeyedRateLimiter<SourceAddress>(
            _options.RequestsPerSecondPerSource, Math.Max(_options.BurstPerSource, _options.RequestsPerSecondPerSource), _options.SourceCapacity,
            TimeSpan.Zero, sweepInterval: TimeSpan.FromSeconds(1));
    }

    /// <summary>Requests sent to control so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Checks refused because a request budget was spent.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);

    /// <summary>Answers remembered now.</summary>
    public int CachedAnswers
    {
        get
        {
            lock (_lock)
            {
                return _answers.Count;
            }
        }
    }

    private TimeSpan Now => _time.GetElapsedTime(_started);

    public async ValueTask<bool> IsAllowedAsync(NodePublicKey node, IPAddress? source, CancellationToken cancellationToken)
    {
        Task<bool?> lookup;
        lock (_lock)
        {
            var now = Now;
            if (_answers.TryGetValue(node, out var cached))
            {
                if (cached.Value.Expires > now)
                {
                    return cached.Value.Allowed;
                }

                _order.Remove(cached);
                _answers.Remove(node);
            }

            if (!_inFlight.TryGetValue(node, out lookup!))
            {
                if (!TryCharge(source, now))
                {
                    Interlocked.Increment(ref _rateLimited);
                    return false;
                }

                lookup = LookupAsync(node);
                _inFlight[node] = lookup;
            }
        }

        // The lookup is shared, so one caller's cancellation must not end it for the others.
        return await lookup.WaitAsync(cancellationToken).ConfigureAwait(false) ?? false;
    }

    /// <summary>One request to control; remembers a definite answer. Null: no answer (refuse, remember nothing).</summary>
    private async Task<bool?> LookupAsync(NodePublicKey node)
    {
        await Task.Yield();
        bool? allowed = null;
        try
        {
            Interlocked.Increment(ref _requests);
            var url = new Uri(_baseUrl, $"{_baseUrl.AbsolutePath.TrimEnd('/')}/api/v1/relay/verify?nodekey={node.Value.ToHex()}");
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
            allowed = response.StatusCode switch
            {
                HttpStatusCode.OK => true,
                HttpStatusCode.NotFound => false,
                _ => null,
            };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            // Control unreachable or slow (HttpClient.Timeout): refuse, ask again next time.
        }
        finally
        {
            lock (_lock)
            {
                _inFlight.Remove(node);
                if (allowed is { } answer)
                {
                    Remember(node, answer, Now);
                }
            }
        }

        return allowed;
    }

    private void Remember(NodePublicKey node, bool allowed, TimeSpan now)
    {
        if (_answers.Remove(node, out var stale))
        {
            _order.Remove(stale);
        }

        // Oldest first: expired answers, then (when still full) the oldest live one.
        while (_order.First is { } oldest && (oldest.Value.Expires <= now || _answers.Count >= _options.Capacity))
        {
            _order.RemoveFirst();
            _answers.Remove(oldest.Value.Node);
        }

        var expires = now + (allowed ? _options.AllowedTtl : _options.RefusedTtl);
        _answers[node] = _order.AddLast(new Answer(node, allowed, expires));
    }

    /// <summary>Takes one request from the source's budget and the global one; false when either is spent. Caller holds _lock.</summary>
    private bool TryCharge(IPAddress? source, TimeSpan now) =>
        _sources.TryTake(SourceAddress.Of(source), now, out _) && _global.TryTake(1, now);

    private readonly record struct Answer(NodePublicKey Node, bool Allowed, TimeSpan Expires);
}
