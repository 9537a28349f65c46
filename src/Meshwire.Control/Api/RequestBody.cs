using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Meshwire.Protocol;
using Microsoft.AspNetCore.Http;

namespace Meshwire.Control.Api;

/// <summary>
/// Reads admin API request bodies. The body is read after authentication (the framework's binder would read it
/// first and answer a stranger with its own type names), at most Kestrel's MaxRequestBodySize (413 beyond), parsed
/// once for syntax and once into the DTO. Every failure is a ControlException(bad_request) whose message starts
/// with the field it concerns ("tags[0]: ..."), so no binding error reaches a client as an empty 500 or an internal
/// type name. Null and missing fields are let through here; the service checks them, because the admin verbs call
/// the same service methods with values read from files.
/// </summary>
internal static class RequestBody
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        // "expirySeconds": "60" is a client bug; refuse it rather than guess.
        NumberHandling = JsonNumberHandling.Strict,
    };

    /// <summary>The body as <typeparamref name="T"/>; null only when <paramref name="optional"/> and the body is empty.</summary>
    public static async Task<T?> ReadAsync<T>(HttpRequest request, bool optional, CancellationToken cancellationToken)
        where T : class
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (bytes.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return optional ? null : throw new ControlException(ErrorCodes.BadRequest, $"the request body is empty; send a JSON {Shape<T>()}");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new ControlException(ErrorCodes.BadRequest, string.Create(CultureInfo.InvariantCulture,
                $"the request body is not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1})"));
        }

        using (document)
        {
            if (document.RootElement.ValueKind != (Shape<T>() == "array" ? JsonValueKind.Array : JsonValueKind.Object))
            {
                throw new ControlException(ErrorCodes.BadRequest, $"the request body must be a JSON {Shape<T>()}");
            }

            try
            {
                return document.RootElement.Deserialize<T>(Options)
                    ?? throw new ControlException(ErrorCodes.BadRequest, $"the request body must be a JSON {Shape<T>()}");
            }
            catch (JsonException e)
            {
                throw new ControlException(ErrorCodes.BadRequest, $"{FieldOf(e.Path)}: wrong type or value for this field");
            }
        }
    }

    /// <summary>"$.tags[0]" → "tags[0]", "$[1].port" → "[1].port"; "body" for the root.</summary>
    internal static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Length == 0 ? "body" : field;
    }

    private static string Shape<T>() => typeof(System.Collections.IEnumerable).IsAssignableFrom(typeof(T)) ? "array" : "object";
}
