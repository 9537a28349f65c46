using System.Globalization;
using System.Text;
using System.Text.Json;
using Meshwire.Policy.HuJson;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// HuJSON (src/Meshwire.Policy/HuJson/HuJsonReader.cs): the input is a policy file's text (UTF-8). Contract: only
/// <see cref="PolicyException"/> escapes, with a position inside the text; a document it accepts is JSON with
/// comments and trailing commas, so System.Text.Json (allowing both) accepts it too; the accepted tree printed as
/// plain JSON reads back to the same tree.
/// </summary>
public static class HuJsonTarget
{
    public static readonly FuzzTarget Target = new("hujson", "HuJSON reader (comments, trailing commas, limits)", Run, Seeds);

    private static readonly JsonDocumentOptions Relaxed = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 256 };

    public static void Run(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        HuJsonValue tree;
        try
        {
            tree = HuJsonReader.Parse(text);
        }
        catch (PolicyException e)
        {
            CheckPosition(e, text);
            return;
        }

        // RFC 8259 plus comments and trailing commas: what the relaxed System.Text.Json reader takes. One difference is
        // HuJSON's on purpose: a // comment runs to '\n' only (as in the HuJSON reference), where System.Text.Json also
        // ends it at '\r' (fuzz/regressions/hujson/line-comment-ended-by-cr). A '\r' outside a comment is whitespace to
        // both, and inside a string both refuse it, so the oracle reads it as a space.
        var body = (text.StartsWith('\uFEFF') ? text[1..] : text).Replace('\r', ' ');
        try
        {
            using var document = JsonDocument.Parse(Encoding.UTF8.GetBytes(body), Relaxed);
        }
        catch (JsonException e)
        {
            throw new ContractViolation($"HuJSON accepted a document that is not JSON with comments: {e.Message}");
        }

        var printed = Print(tree);
        HuJsonValue again;
        try
        {
            again = HuJsonReader.Parse(printed);
        }
        catch (PolicyException e)
        {
            throw new ContractViolation($"the accepted tree printed as JSON is refused: {e.Message}\n{printed}");
        }

        Check(Print(again) == printed, "the tree does not survive printing and reading");
    }

    private static void CheckPosition(PolicyException e, string text)
    {
        var lines = text.Split('\n').Length;
        Check(e.Position.Line >= 1 && e.Position.Line <= lines + 1 && e.Position.Column >= 1, $"error position {e.Position.Line}:{e.Position.Column} outside a text of {lines} lines");
    }

    /// <summary>Plain JSON, every non-ASCII character escaped (so lone surrogates print too).</summary>
    internal static string Print(HuJsonValue value)
    {
        var text = new StringBuilder();
        Write(value, text);
        return text.ToString();
    }

    private static void Write(HuJsonValue value, StringBuilder text)
    {
        switch (value)
        {
            case HuJsonObject o:
                text.Append('{');
                for (var i = 0; i < o.Members.Count; i++)
                {
                    text.Append(i == 0 ? "" : ",");
                    WriteString(o.Members[i].Name, text);
                    text.Append(':');
                    Write(o.Members[i].Value, text);
                }

                text.Append('}');
                break;
            case HuJsonArray a:
                text.Append('[');
                for (var i = 0; i < a.Items.Count; i++)
                {
                    text.Append(i == 0 ? "" : ",");
                    Write(a.Items[i], text);
                }

                text.Append(']');
                break;
            case HuJsonString s:
                WriteString(s.Value, text);
                break;
            case HuJsonNumber n:
                text.Append(n.Text);
                break;
            case HuJsonLiteral l:
                text.Append(l.Kind);
                break;
            default:
                throw new ContractViolation($"unknown node {value.GetType()}");
        }
    }

    private static void WriteString(string value, StringBuilder text)
    {
        text.Append('"');
        foreach (var c in value)
        {
            if (c is >= ' ' and < (char)0x7F and not ('"' or '\\'))
            {
                text.Append(c);
            }
            else
            {
                text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
        }

        text.Append('"');
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        string[] documents =
        [
            "{\n  // line comment\n  \"acls\": [\n    {\"action\": \"accept\", \"src\": [\"*\"], \"dst\": [\"*:*\"]},\n  ],\n}\n",
            "/* block */ {\"a\": [1, -2.5e3, 0, true, false, null, \"\\u00e9\\ud83d\\ude00\\n\"], \"b\": {},}",
            "\uFEFF[\"bom\", [], [[[]]], {\"\": \"\"}]",
            "{\"dup\": 1, \"dup\": 2}",
            "[1, 2,, 3]",
            "{\"unterminated\": \"",
            "[1e400]",
        ];
        for (var i = 0; i < documents.Length; i++)
        {
            yield return ($"doc-{i}", Encoding.UTF8.GetBytes(documents[i]));
        }
    }
}
