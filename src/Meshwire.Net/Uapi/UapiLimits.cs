namespace Meshwire.Net.Uapi;

/// <summary>
/// What one connection may send and how long it may take, so a careless or hostile client costs the server bounded
/// memory and time. A line or set past its bound is answered with <see cref="UapiErrors.MessageTooLong"/>, a request
/// past its deadline with nothing; either way the connection is closed and nothing of the request is applied.
/// </summary>
public static class UapiLimits
{
    /// <summary>
    /// The longest line, in bytes before its '\n'. The longest legal line is 78 bytes ("preshared_key=" and 64 hex
    /// digits; an endpoint line is at most that: "[", 45 characters of IPv6, "%" and an interface name, "]:65535").
    /// The server's receive buffer holds a few such lines, never more.
    /// </summary>
    public const int MaxLineBytes = 1024;

    /// <summary>
    /// The most key=value lines one set request may carry: every allowed IP is a line, so this admits, for instance,
    /// one peer with 262,000 allowed IPs or 10,000 peers with 25 each (wg setconf sends a whole file as one request).
    /// The parsed request holds about 18 MB at this bound, whether every line is a new peer or an IPv6 allowed IP
    /// (UapiRequestMemoryTests).
    /// </summary>
    public const int MaxRequestLines = 1 << 18;

    /// <summary>
    /// How long one request may take, from the moment the server waits for it (the connection opened, or the previous
    /// answer sent) until its answer is sent. wg(8) takes milliseconds; a client that trickles bytes, or opens a
    /// connection and never speaks, is closed then, and a set cut off that way applies nothing.
    /// </summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
}
