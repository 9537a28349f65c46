using System.Globalization;
using System.Text;

namespace Meshwire.Policy.HuJson;

/// <summary>
/// Reads HuJSON: JSON (RFC 8259) plus <c>//</c> line comments, <c>/* */</c> block comments and a trailing
/// comma after the last array item or object member.
/// </summary>
/// <remarks>
/// Built for hostile input: a single forward pass (each character is looked at a bounded number of times,
/// so time is linear in the input), recursion bounded by <see cref="MaxDepth"/> (no stack overflow however
/// deep the brackets go), numbers limited in length and required to be finite, the whole text limited to
/// <see cref="MaxLength"/> characters, and duplicate member names rejected. Every failure is a
/// <see cref="PolicyException"/> carrying the line and column of the offending character.
/// </remarks>
public sealed class HuJsonReader
{
    /// <summary>Deepest nesting of objects and arrays accepted; real policies use 4 or 5 levels.</summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Largest document accepted, in characters (16 Mi; real policies are kilobytes).</summary>
    public const int DefaultMaxLength = 16 * 1024 * 1024;

    /// <summary>Longest number token accepted; policy numbers are protocol numbers.</summary>
    private const int MaxNumberLength = 64;

    private readonly string _text;
    private int _pos;
    private int _line = 1;
    private int _lineStart;
    private int _depth;

    private HuJsonReader(string text, int maxDepth, int maxLength)
    {
        _text = text;
        MaxDepth = maxDepth;
        MaxLength = maxLength;
    }

    public int MaxDepth { get; }

    public int MaxLength { get; }

    /// <summary>Parses one HuJSON document; throws <see cref="PolicyException"/> with a position on any error.</summary>
    public static HuJsonValue Parse(string text, int maxDepth = DefaultMaxDepth, int maxLength = DefaultMaxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        var reader = new HuJsonReader(text, maxDepth, maxLength);
        return reader.ParseDocument();
    }

    private HuJsonValue ParseDocument()
    {
        if (_text.Length > MaxLength)
        {
            // Report where the limit was crossed; computing that position is itself linear.
            AdvanceTo(MaxLength);
            throw Error($"the policy is longer than {MaxLength} characters");
        }

        if (_text.Length > 0 && _text[0] == '\uFEFF')
        {
            _pos = 1;
            _lineStart = 1;
        }

        SkipTrivia();
        if (_pos >= _text.Length)
        {
            throw Error("the document is empty; a policy is a JSON object such as {\"acls\": [...]}");
        }

        var value = ParseValue();
        SkipTrivia();
        if (_pos < _text.Length)
        {
            throw Error($"unexpected '{Printable(_text[_pos])}' after the end of the document");
        }

        return value;
    }

    private HuJsonValue ParseValue()
    {
        var c = _text[_pos];
        return c switch
        {
            '{' => ParseObject(),
            '[' => ParseArray(),
            '"' => ParseString(),
            '-' or (>= '0' and <= '9') => ParseNumber(),
            't' => ParseLiteral("true", true),
            'f' => ParseLiteral("false", false),
            'n' => ParseLiteral("null", null),
            _ => throw Error($"unexpected '{Printable(c)}'; expected a value (object, array, string, number, true, false or null)"),
        };
    }

    private HuJsonObject ParseObject()
    {
        var start = Here();
        Enter();
        _pos++;
        var members = new List<HuJsonMember>();
        HashSet<string>? names = null;
        while (true)
        {
            SkipTrivia();
            if (_pos >= _text.Length)
            {
                throw Error("unterminated object: expected '}'", start);
            }

            if (_text[_pos] == '}')
            {
                _pos++;
                break;
            }

            if (_text[_pos] != '"')
            {
                throw Error($"unexpected '{Printable(_text[_pos])}'; expected a member name in double quotes or '}}'");
            }

            var name = ParseString();
            names ??= new HashSet<string>(StringComparer.Ordinal);
            if (!names.Add(name.Value))
            {
                throw Error($"duplicate member \"{name.Value}\"", name.Position);
            }

            SkipTrivia();
            Expect(':', "expected ':' after the member name");
            SkipTrivia();
            RequireMore("expected a value after ':'");
            members.Add(new HuJsonMember(name.Value, name.Position, ParseValue()));
            SkipTrivia();
            RequireMore("unterminated object: expected ',' or '}'");
            if (_text[_pos] == ',')
            {
                _pos++;
            }
            else if (_text[_pos] != '}')
            {
                throw Error($"unexpected '{Printable(_text[_pos])}'; expected ',' or '}}'");
            }
        }

        _depth--;
        return new HuJsonObject(start, members);
    }

    private HuJsonArray ParseArray()
    {
        var start = Here();
        Enter();
        _pos++;
        var items = new List<HuJsonValue>();
        while (true)
        {
            SkipTrivia();
            if (_pos >= _text.Length)
            {
                throw Error("unterminated array: expected ']'", start);
            }

            if (_text[_pos] == ']')
            {
                _pos++;
                break;
            }

            items.Add(ParseValue());
            SkipTrivia();
            RequireMore("unterminated array: expected ',' or ']'");
            if (_text[_pos] == ',')
            {
                _pos++;
            }
            else if (_text[_pos] != ']')
            {
                throw Error($"unexpected '{Printable(_text[_pos])}'; expected ',' or ']'");
            }
        }

        _depth--;
        return new HuJsonArray(start, items);
    }

    private HuJsonString ParseString()
    {
        var start = Here();
        _pos++;
        var runStart = _pos;
        StringBuilder? builder = null;
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error("unterminated string", start);
            }

            var c = _text[_pos];
            if (c == '"')
            {
                var tail = _text.AsSpan(runStart, _pos - runStart);
                _pos++;
                var value = builder is null ? tail.ToString() : builder.Append(tail).ToString();
                return new HuJsonString(start, value);
            }

            if (c == '\n' || c < 0x20)
            {
                throw Error(c == '\n' ? "unterminated string (a string cannot span lines)" : "control character in string; escape it");
            }

            if (c != '\\')
            {
                _pos++;
                continue;
            }

            builder ??= new StringBuilder();
            builder.Append(_text.AsSpan(runStart, _pos - runStart));
            _pos++;
            RequireMore("unterminated escape sequence in string");
            var e = _text[_pos];
            switch (e)
            {
                case '"': builder.Append('"'); break;
                case '\\': builder.Append('\\'); break;
                case '/': builder.Append('/'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'u':
                    // Four hex digits, each checked: ushort.TryParse alone lets trailing NULs through ("\u00e\0").
                    if (_pos + 4 >= _text.Length || !IsHex4(_text.AsSpan(_pos + 1, 4))
                        || !ushort.TryParse(_text.AsSpan(_pos + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code))
                    {
                        throw Error("\\u must be followed by four hex digits");
                    }

                    builder.Append((char)code);
                    _pos += 4;
                    break;
                default:
                    throw Error($"invalid escape '\\{Printable(e)}' in string");
            }

            _pos++;
            runStart = _pos;
        }
    }

    private static bool IsHex4(ReadOnlySpan<char> digits) =>
        char.IsAsciiHexDigit(digits[0]) && char.IsAsciiHexDigit(digits[1]) && char.IsAsciiHexDigit(digits[2]) && char.IsAsciiHexDigit(digits[3]);

    private HuJsonNumber ParseNumber()
    {
        var start = Here();
        var begin = _pos;
        if (_text[_pos] == '-')
        {
            _pos++;
        }

        if (_pos >= _text.Length || !char.IsAsciiDigit(_text[_pos]))
        {
            throw Error("invalid number: expected a digit");
        }

        if (_text[_pos] == '0')
        {
            _pos++;
        }
        else
        {
            SkipDigits();
        }

        if (_pos < _text.Length && _text[_pos] == '.')
        {
            _pos++;
            if (SkipDigits() == 0)
            {
                throw Error("invalid number: expected a digit after '.'");
            }
        }

        if (_pos < _text.Length && (_text[_pos] == 'e' || _text[_pos] == 'E'))
        {
            _pos++;
            if (_pos < _text.Length && (_text[_pos] == '+' || _text[_pos] == '-'))
            {
                _pos++;
            }

            if (SkipDigits() == 0)
            {
                throw Error("invalid number: expected a digit in the exponent");
            }
        }

        var length = _pos - begin;
        if (length > MaxNumberLength)
        {
            throw Error($"number is longer than {MaxNumberLength} characters", start);
        }

        var text = _text.Substring(begin, length);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
        {
            throw Error("number is too large", start);
        }

        return new HuJsonNumber(start, text);
    }

    private int SkipDigits()
    {
        var begin = _pos;
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
        {
            _pos++;
        }

        return _pos - begin;
    }

    private HuJsonLiteral ParseLiteral(string word, bool? value)
    {
        var start = Here();
        if (string.CompareOrdinal(_text, _pos, word, 0, word.Length) != 0)
        {
            throw Error($"unexpected '{Printable(_text[_pos])}'; expected a value (did you mean {word}?)");
        }

        _pos += word.Length;
        return new HuJsonLiteral(start, value);
    }

    /// <summary>Skips whitespace and comments, keeping the line count for positions.</summary>
    private void SkipTrivia()
    {
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '\n')
            {
                _pos++;
                _line++;
                _lineStart = _pos;
            }
            else if (c == ' ' || c == '\t' || c == '\r')
            {
                _pos++;
            }
            else if (c == '/')
            {
                SkipComment();
            }
            else
            {
                return;
            }
        }
    }

    private void SkipComment()
    {
        var start = Here();
        if (_pos + 1 >= _text.Length || (_text[_pos + 1] != '/' && _text[_pos + 1] != '*'))
        {
            throw Error("unexpected '/'; comments start with // or /*");
        }

        if (_text[_pos + 1] == '/')
        {
            var end = _text.IndexOf('\n', _pos + 2);
            _pos = end < 0 ? _text.Length : end;
            return;
        }

        var close = _text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
        if (close < 0)
        {
            throw Error("unterminated block comment: expected */", start);
        }

        AdvanceTo(close + 2);
    }

    /// <summary>Moves forward to <paramref name="target"/> counting the newlines passed.</summary>
    private void AdvanceTo(int target)
    {
        while (true)
        {
            var next = _text.IndexOf('\n', _pos, target - _pos);
            if (next < 0)
            {
                break;
            }

            _line++;
            _lineStart = next + 1;
            _pos = next + 1;
        }

        _pos = target;
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Error($"nesting is deeper than {MaxDepth} levels");
        }
    }

    private void Expect(char c, string message)
    {
        if (_pos >= _text.Length || _text[_pos] != c)
        {
            throw Error(message);
        }

        _pos++;
    }

    private void RequireMore(string message)
    {
        if (_pos >= _text.Length)
        {
            throw Error(message);
        }
    }

    private TextPosition Here() => new(_line, _pos - _lineStart + 1, _pos);

    private PolicyException Error(string message) => new(Here(), message);

    private static PolicyException Error(string message, TextPosition at) => new(at, message);

    private static string Printable(char c) => c < 0x20 || c > 0x7E ? $"\\u{(int)c:X4}" : c.ToString();
}
