namespace Meshwire.Policy.HuJson;

/// <summary>
/// A policy file that cannot be read or is not a valid policy. Always carries the position of the
/// offending text so that editors and `meshwire-control policy check` can point at it.
/// </summary>
public sealed class PolicyException : Exception
{
    public PolicyException(TextPosition position, string reason)
        : base(position.IsKnown ? $"line {position.Line}, column {position.Column}: {reason}" : reason)
    {
        Position = position;
        Reason = reason;
    }

    public TextPosition Position { get; }

    /// <summary>The message without the position prefix.</summary>
    public string Reason { get; }
}
