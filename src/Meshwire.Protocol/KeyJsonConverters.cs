using System.Text.Json;
using System.Text.Json.Serialization;
using Meshwire.Core;

namespace Meshwire.Protocol;

// Keys travel as their printed form ("nodekey:<64 hex>"), so a key of one kind can never be read as another:
// the prefix is checked and a wrong length or prefix is a JsonException (the caller answers "bad_request").

internal static class KeyText
{
    public static Key32 Read(ref Utf8JsonReader reader, string prefix)
    {
        var text = reader.GetString();
        if (text is null || !text.StartsWith(prefix, StringComparison.Ordinal) || !Key32.TryParseHex(text.AsSpan(prefix.Length), out var key))
        {
            throw new JsonException($"expected \"{prefix}\" followed by 64 hex digits");
        }

        return key;
    }

    public static bool TryParse(string? text, string prefix, out Key32 key)
    {
        key = default;
        return text is not null && text.StartsWith(prefix, StringComparison.Ordinal) && Key32.TryParseHex(text.AsSpan(prefix.Length), out key);
    }
}

public sealed class NodePublicKeyConverter : JsonConverter<NodePublicKey>
{
    public override NodePublicKey Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(KeyText.Read(ref reader, NodePublicKey.Prefix));

    public override void Write(Utf8JsonWriter writer, NodePublicKey value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

public sealed class MachinePublicKeyConverter : JsonConverter<MachinePublicKey>
{
    public override MachinePublicKey Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(KeyText.Read(ref reader, MachinePublicKey.Prefix));

    public override void Write(Utf8JsonWriter writer, MachinePublicKey value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

public sealed class DiscoPublicKeyConverter : JsonConverter<DiscoPublicKey>
{
    public override DiscoPublicKey Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(KeyText.Read(ref reader, DiscoPublicKey.Prefix));

    public override void Write(Utf8JsonWriter writer, DiscoPublicKey value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}

/// <summary>Parses the printed forms of keys (what the converters write and the CLI prints).</summary>
public static class KeyParsing
{
    public static bool TryParseNodeKey(string? text, out NodePublicKey key)
    {
        var ok = KeyText.TryParse(text, NodePublicKey.Prefix, out var raw);
        key = new NodePublicKey(raw);
        return ok;
    }

    public static bool TryParseMachineKey(string? text, out MachinePublicKey key)
    {
        var ok = KeyText.TryParse(text, MachinePublicKey.Prefix, out var raw);
        key = new MachinePublicKey(raw);
        return ok;
    }

    public static bool TryParseDiscoKey(string? text, out DiscoPublicKey key)
    {
        var ok = KeyText.TryParse(text, DiscoPublicKey.Prefix, out var raw);
        key = new DiscoPublicKey(raw);
        return ok;
    }
}
