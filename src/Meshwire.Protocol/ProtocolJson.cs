using System.Text.Json;
using System.Text.Json.Serialization;

namespace Meshwire.Protocol;

/// <summary>Source-generated JSON for every control-plane wire type: camelCase, nulls omitted, no reflection.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(NodePublicKeyConverter), typeof(MachinePublicKeyConverter), typeof(DiscoPublicKeyConverter)])]
[JsonSerializable(typeof(ControlMessage))]
[JsonSerializable(typeof(WireNode))]
[JsonSerializable(typeof(RelayMap))]
[JsonSerializable(typeof(ServerKeyInfo))]
public sealed partial class ProtocolJsonContext : JsonSerializerContext;

/// <summary>Answer of GET /control/v1/key: the server's machine key, the static key of the channel's responder.</summary>
public sealed record ServerKeyInfo(Meshwire.Core.MachinePublicKey MachineKey, int ProtocolVersion);

/// <summary>Serialization helpers over <see cref="ProtocolJsonContext"/>.</summary>
public static class ProtocolJson
{
    /// <summary>Version of the control protocol spoken by this build.</summary>
    public const int Version = 1;

    public static byte[] Serialize(ControlMessage message) =>
        JsonSerializer.SerializeToUtf8Bytes(message, ProtocolJsonContext.Default.ControlMessage);

    /// <summary>
    /// Parses one message; false (never an exception) for malformed JSON, unknown types, bad keys, or a null where
    /// the wire type declares a value (a null hostname, a null item in a list of tags).
    /// </summary>
    public static bool TryDeserialize(ReadOnlySpan<byte> utf8, out ControlMessage? message, out string? error)
    {
        try
        {
            message = JsonSerializer.Deserialize(utf8, ProtocolJsonContext.Default.ControlMessage);
            error = message is null ? "empty message" : ProtocolNulls.Find(message) is { } path ? $"{path} may not be null" : null;
            if (error is not null)
            {
                message = null;
            }

            return message is not null;
        }
        catch (JsonException e)
        {
            message = null;
            error = e.Message;
            return false;
        }
        catch (NotSupportedException e)
        {
            message = null;
            error = e.Message;
            return false;
        }
    }
}
