namespace Meshwire.Net.Uapi;

/// <summary>
/// The negative errno values a UAPI response carries in its errno= line; the same numbers wireguard-go answers with
/// (https://www.wireguard.com/xplatform/: "errno is the corresponding integer from errno.h").
/// </summary>
public static class UapiErrors
{
    /// <summary>A key or value that is not valid: the whole set request is rejected.</summary>
    public const int Invalid = -22;

    /// <summary>A line that is not key=value at all.</summary>
    public const int Protocol = -71;

    /// <summary>listen_port (or fwmark) could not be applied because the port is taken.</summary>
    public const int PortInUse = -98;

    /// <summary>The device failed in an unexpected way (ENOANO, as wireguard-go answers).</summary>
    public const int Unknown = -55;

    /// <summary>
    /// A line or a request longer than <see cref="UapiLimits"/> allows (EMSGSIZE; wg(8) prints "Message too long").
    /// wireguard-go answers such a line with <see cref="IO"/>, from its line scanner's 64 KiB limit.
    /// </summary>
    public const int MessageTooLong = -90;

    /// <summary>Reading or writing the request failed.</summary>
    public const int IO = -5;
}
