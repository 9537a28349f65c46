namespace Meshwire.Control;

/// <summary>A request the control service refuses; <see cref="Code"/> is one of Meshwire.Protocol.ErrorCodes. Nothing was written.</summary>
public sealed class ControlException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;

    /// <summary>With ErrorCodes.RateLimited: how long the caller should wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
