using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Meshwire.Control.Hosting;

/// <summary>
/// Binds the --listen URLs as explicit Kestrel endpoints. UseUrls alone is not enough: once the admin socket is
/// bound with ListenUnixSocket, Kestrel ignores UseUrls ("Overriding address(es)") and the server would answer on
/// the socket only.
/// </summary>
internal static class ListenUrls
{
    public const string Default = "http://127.0.0.1:8080";

    public static void Apply(KestrelServerOptions kestrel, IEnumerable<string> urls)
    {
        foreach (var text in urls.DefaultIfEmpty(Default))
        {
            // "*" and "+" are the ASP.NET spellings of "any address"; Uri does not parse them as hosts.
            var uri = new Uri(text.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
            if (uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new ArgumentException($"--listen {text}: only http:// is served (put TLS in front)");
            }

            if (uri.IsLoopback && uri.Host == "localhost")
            {
                kestrel.ListenLocalhost(uri.Port);
            }
            else if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
            {
                kestrel.Listen(address, uri.Port);
            }
            else
            {
                throw new ArgumentException($"--listen {text}: give an IP address, localhost or *");
            }
        }
    }
}
