using System.Collections.Concurrent;
using System.Net;
using Meshwire.Core;

namespace Meshwire.Relay.Server;

/// <summary>Decides whether a node that proved its key may use the relay.</summary>
public interface IRelayClientVerifier
{
    ValueTask<bool> IsAllowedAsync(NodePublicKey node, CancellationToken cancellationToken);
}

/// <summary>
/// Asks the coordination server: GET {base}/api/v1/relay/verify?nodekey=&lt;hex&gt;; 200 admits, 404 refuses.
/// Answers are cached briefly so a reconnect storm does not become a request storm. Any other status or a
/// network error refuses without caching (fail closed: a relay open to everyone is the worse failure).
/// </summary>
public sealed class HttpRelayClientVerifier : IRelayClientVerifier
{
    private readonly HttpClient _http;
    private readonly Uri _baseUrl;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;
    private readonly ConcurrentDictionary<NodePublicKey, (bool Allowed, long Expires)> _cache = new();

    public HttpRelayClientVerifier(HttpClient http, Uri baseUrl, TimeProvider? timeProvider = null, TimeSpan? cacheTtl = null)
    {
        _http = http;
        _baseUrl = baseUrl;
        _time = timeProvider ?? TimeProvider.System;
        _ttl = cacheTtl ?? TimeSpan.FromSeconds(10);
    }

    public async ValueTask<bool> IsAllowedAsync(NodePublicKey node, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        if (_cache.TryGetValue(node, out var cached) && cached.Expires > now)
        {
            return cached.Allowed;
        }

        var url = new Uri(_baseUrl, $"{_baseUrl.AbsolutePath.TrimEnd('/')}/api/v1/relay/verify?nodekey={node.Value.ToHex()}");
        HttpStatusCode status;
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            status = response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }

        if (status is not (HttpStatusCode.OK or HttpStatusCode.NotFound))
        {
            return false;
        }

        var allowed = status == HttpStatusCode.OK;
        _cache[node] = (allowed, now + (long)(_ttl.TotalSeconds * _time.TimestampFrequency));
        return allowed;
    }
}
