using System.Net;

namespace Meshwire.Control.Tests.Oidc;

/// <summary>
/// What a user's browser does with a login URL: follows redirects by hand (keeping cookies for the control server
/// and the provider) and, at the provider's interaction page, logs in as the named test user.
/// </summary>
internal sealed class TestBrowser : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() });

    /// <summary>The last page: its status and body, and every URL visited on the way.</summary>
    public async Task<(HttpStatusCode Status, string Body, List<Uri> Visited)> OpenAsync(string url, string user)
    {
        var visited = new List<Uri>();
        var next = new Uri(url);
        for (var hops = 0; hops < 20; hops++)
        {
            if (next.AbsolutePath.StartsWith("/interaction/", StringComparison.Ordinal) && next.Query.Length == 0)
            {
                next = new Uri(next + "?user=" + Uri.EscapeDataString(user));
            }

            visited.Add(next);
            using var response = await _http.GetAsync(next);
            var body = await response.Content.ReadAsStringAsync();
            if ((int)response.StatusCode is >= 300 and < 400 && response.Headers.Location is { } location)
            {
                next = location.IsAbsoluteUri ? location : new Uri(next, location);
                continue;
            }

            return (response.StatusCode, body, visited);
        }

        throw new InvalidOperationException("too many redirects: " + string.Join(" → ", visited));
    }

    public void Dispose() => _http.Dispose();
}
