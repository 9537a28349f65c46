using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Meshwire.Agent.LocalApi;

namespace Meshwire.Cli;

/// <summary>What `meshwire ip --json` prints.</summary>
internal sealed record IpResponse(IReadOnlyList<string> Addresses);

/// <summary>What `meshwire version --json` prints; <see cref="Daemon"/> is absent when meshwired is not running.</summary>
internal sealed record VersionsResponse(string Client, VersionResponse? Daemon);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IpResponse))]
[JsonSerializable(typeof(VersionsResponse))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary>
/// --json output: the LocalAPI's shapes, indented; one document per line group. Printed for a terminal or a script,
/// never embedded in HTML, so only what JSON itself requires is escaped ("1.0.0+abc", not "1.0.0\u002Babc").
/// </summary>
internal static class CliJson
{
    public static readonly LocalApiJsonContext Api = new(new JsonSerializerOptions(LocalApiJsonContext.Default.Options) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public static readonly CliJsonContext Cli = new(new JsonSerializerOptions(CliJsonContext.Default.Options) { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public static void Write<T>(TextWriter writer, T value, JsonTypeInfo<T> type) => writer.WriteLine(JsonSerializer.Serialize(value, type));
}
