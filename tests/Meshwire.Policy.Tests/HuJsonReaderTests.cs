using System.Diagnostics;
using System.Text;
using Meshwire.Policy.HuJson;

namespace Meshwire.Policy.Tests;

public sealed class HuJsonReaderTests
{
    [Fact]
    public void Parse_CommentsAndTrailingCommas_Accepted()
    {
        var root = (HuJsonObject)HuJsonReader.Parse("""
            // leading comment
            {
              /* block
                 comment */ "a": [1, 2, /* inline */ 3,],
              "b": {"c": "d",}, // trailing
            }
            """);
        Assert.Equal(["a", "b"], root.Members.Select(m => m.Name));
        Assert.Equal(3, ((HuJsonArray)root.Members[0].Value).Items.Count);
    }

    [Fact]
    public void Parse_Escapes_Decoded()
    {
        var value = (HuJsonString)HuJsonReader.Parse("\"a\\n\\u0041\\\"\"");
        Assert.Equal("a\nA\"", value.Value);
    }

    [Fact]
    public void Parse_ValuePositions_LineAndColumn()
    {
        var root = (HuJsonObject)HuJsonReader.Parse("{\n  // c\n  \"key\":   true\n}");
        Assert.Equal(new TextPosition(3, 3, 11), root.Members[0].NamePosition);
        Assert.Equal(3, root.Members[0].Value.Position.Line);
        Assert.Equal(12, root.Members[0].Value.Position.Column);
    }

    [Theory]
    [InlineData("", 1, 1, "empty")]
    [InlineData("{\"a\": 1,,}", 1, 9, "expected a member name")]
    [InlineData("{\"a\" 1}", 1, 6, "expected ':'")]
    [InlineData("[1 2]", 1, 4, "expected ',' or ']'")]
    [InlineData("{\n  \"a\": /* never closed\n}", 2, 8, "unterminated block comment")]
    [InlineData("[\"abc", 1, 2, "unterminated string")]
    [InlineData("[\"a\nb\"]", 1, 4, "cannot span lines")]
    [InlineData("[1e400]", 1, 2, "too large")]
    [InlineData("[-1e400]", 1, 2, "too large")]
    [InlineData("[01]", 1, 3, "expected ',' or ']'")]
    [InlineData("[1.]", 1, 4, "digit after '.'")]
    [InlineData("{\"a\": 1, \"a\": 2}", 1, 10, "duplicate member")]
    [InlineData("[tru]", 1, 2, "did you mean true")]
    [InlineData("[1] x", 1, 5, "after the end")]
    [InlineData("[1] /", 1, 5, "comments start with")]
    [InlineData("{\"a\": \"\\x\"}", 1, 9, "invalid escape")]
    [InlineData("{\"a\": \"\\u12\"}", 1, 9, "four hex digits")]
    [InlineData("{\"a\": \"\\u00e\0x\"}", 1, 9, "four hex digits")]   // trailing NULs passed ushort.TryParse (fuzz: hujson)
    [InlineData("{\"a\": \"\\u0\0\0\0 x\"}", 1, 9, "four hex digits")]
    [InlineData("[", 1, 1, "unterminated array")]
    [InlineData("{\"a\": [1,", 1, 7, "unterminated array")]
    public void Parse_Malformed_ErrorWithPosition(string text, int line, int column, string message)
    {
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse(text));
        Assert.Contains(message, error.Reason, StringComparison.Ordinal);
        Assert.Equal((line, column), (error.Position.Line, error.Position.Column));
    }

    [Fact]
    public void Parse_HundredThousandNestedArrays_DepthErrorNoStackOverflow()
    {
        var text = new string('[', 100_000) + new string(']', 100_000);
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse(text));
        Assert.Contains("deeper than 64", error.Reason, StringComparison.Ordinal);
        Assert.Equal(65, error.Position.Column);
    }

    [Fact]
    public void Parse_HundredThousandNestedObjects_DepthError()
    {
        var text = new StringBuilder().Insert(0, "{\"a\":", 100_000).ToString();
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse(text));
        Assert.Contains("deeper than 64", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DepthAtLimit_Accepted()
    {
        var text = new string('[', 64) + new string(']', 64);
        Assert.IsType<HuJsonArray>(HuJsonReader.Parse(text));
    }

    [Fact]
    public void Parse_LongNumber_Error()
    {
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse("[" + new string('9', 100_000) + "]"));
        Assert.Contains("longer than", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_TenMegabyteUnterminatedComment_ErrorQuickly()
    {
        var text = "{\n/*" + new string('x', 10 * 1024 * 1024);
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse(text));
        Assert.Equal((2, 1), (error.Position.Line, error.Position.Column));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Parse_TenMegabytesOfCommentsAndStars_Linear()
    {
        // "/*" followed by many "*" and "/" fragments but never "*/" must not rescan: linear time.
        var text = "/*" + string.Concat(Enumerable.Repeat("* / *\n", 10 * 1024 * 1024 / 6));
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse(text));
        Assert.Contains("unterminated block comment", error.Reason, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Parse_TenMegabyteValidDocument_Parsed()
    {
        var builder = new StringBuilder("[");
        while (builder.Length < 10 * 1024 * 1024)
        {
            builder.Append("\"tag:web\", // comment\n");
        }

        builder.Append(']');
        var watch = Stopwatch.StartNew();
        var root = (HuJsonArray)HuJsonReader.Parse(builder.ToString());
        Assert.True(root.Items.Count > 100_000);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Parse_TenMegabyteUnterminatedString_Error()
    {
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse("[\"" + new string('a', 10 * 1024 * 1024)));
        Assert.Contains("unterminated string", error.Reason, StringComparison.Ordinal);
        Assert.Equal((1, 2), (error.Position.Line, error.Position.Column));
    }

    [Fact]
    public void Parse_OverMaxLength_ErrorAtLimit()
    {
        var error = Assert.Throws<PolicyException>(() => HuJsonReader.Parse("\n\n" + new string(' ', 100), maxLength: 50));
        Assert.Contains("longer than 50", error.Reason, StringComparison.Ordinal);
        Assert.Equal(3, error.Position.Line);
    }

    [Fact]
    public void Parse_ByteOrderMark_Skipped() => Assert.IsType<HuJsonObject>(HuJsonReader.Parse("\uFEFF{}"));

    [Fact]
    public void Parse_RandomGarbage_OnlyPolicyExceptions()
    {
        var random = new Random(1234);
        const string alphabet = "{}[]\",:/*\n 0123456789.eE-+truefalsn\\u";
        for (var i = 0; i < 5000; i++)
        {
            var chars = new char[random.Next(0, 40)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            try
            {
                HuJsonReader.Parse(new string(chars));
            }
            catch (PolicyException e)
            {
                Assert.True(e.Position.IsKnown);
            }
        }
    }
}
