namespace Meshwire.Policy.HuJson;

/// <summary>
/// A place in the original policy text: 1-based line and 1-based column counted in UTF-16 code units,
/// the unit editors show. Offset is the 0-based character index. Default (0:0) means "not from a file".
/// </summary>
public readonly record struct TextPosition(int Line, int Column, int Offset)
{
    public bool IsKnown => Line > 0;

    public override string ToString() => IsKnown ? $"{Line}:{Column}" : "(built-in)";
}
