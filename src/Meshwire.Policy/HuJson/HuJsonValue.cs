namespace Meshwire.Policy.HuJson;

// The document tree produced by HuJsonReader. Every value remembers where it started so the policy
// parser can report semantic errors ("tag:web is not in tagOwners") at the exact spot.

public abstract class HuJsonValue
{
    private protected HuJsonValue(TextPosition position) => Position = position;

    public TextPosition Position { get; }

    /// <summary>"object", "array", "string", "number", "true", "false" or "null", for error messages.</summary>
    public abstract string Kind { get; }
}

public sealed class HuJsonObject : HuJsonValue
{
    internal HuJsonObject(TextPosition position, IReadOnlyList<HuJsonMember> members)
        : base(position) => Members = members;

    /// <summary>Members in document order; names are unique (the reader rejects duplicates).</summary>
    public IReadOnlyList<HuJsonMember> Members { get; }

    public override string Kind => "object";
}

public sealed record HuJsonMember(string Name, TextPosition NamePosition, HuJsonValue Value);

public sealed class HuJsonArray : HuJsonValue
{
    internal HuJsonArray(TextPosition position, IReadOnlyList<HuJsonValue> items)
        : base(position) => Items = items;

    public IReadOnlyList<HuJsonValue> Items { get; }

    public override string Kind => "array";
}

public sealed class HuJsonString : HuJsonValue
{
    internal HuJsonString(TextPosition position, string value)
        : base(position) => Value = value;

    public string Value { get; }

    public override string Kind => "string";
}

/// <summary>A number kept as its source text; the reader has already checked it is finite as a double.</summary>
public sealed class HuJsonNumber : HuJsonValue
{
    internal HuJsonNumber(TextPosition position, string text)
        : base(position) => Text = text;

    public string Text { get; }

    public override string Kind => "number";
}

public sealed class HuJsonLiteral : HuJsonValue
{
    internal HuJsonLiteral(TextPosition position, bool? value)
        : base(position) => Value = value;

    /// <summary>true, false, or null for the JSON null literal.</summary>
    public bool? Value { get; }

    public override string Kind => Value switch { true => "true", false => "false", null => "null" };
}
