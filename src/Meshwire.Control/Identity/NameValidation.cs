using System.Globalization;
using System.Text;

namespace Meshwire.Control.Identity;

/// <summary>
/// What a login, display name or hostname may contain, checked at every entry point (admin API and verbs, OIDC
/// logins, node registration and rename), and how any stored text is made safe to print on a terminal.
/// Refused: C0 and C1 controls (NUL, ESC, DEL, ...), Unicode format characters (bidi overrides and isolates such as
/// U+202E, zero-width characters), line and paragraph separators, and unpaired surrogates. Such characters let a
/// name rewrite the terminal that prints it, or show one string while meaning another.
/// </summary>
internal static class NameValidation
{
    public const int MaxLoginLength = 254;
    public const int MaxDisplayNameLength = 254;
    public const int MaxHostnameLength = 255;

    /// <summary>Null when <paramref name="login"/> is a valid login; else why not.</summary>
    public static string? CheckLogin(string? login)
    {
        if (string.IsNullOrWhiteSpace(login) || login.Length > MaxLoginLength || login.Any(char.IsWhiteSpace) || login.Contains(','))
        {
            return $"a login is 1 to {MaxLoginLength} characters without spaces or commas";
        }

        return FindUnsafe(login) is { } bad ? $"a login may not contain control or bidi-override characters (found {bad})" : null;
    }

    /// <summary>Null when <paramref name="name"/> (optional) is a valid display name; else why not.</summary>
    public static string? CheckDisplayName(string? name)
    {
        if (name is null)
        {
            return null;
        }

        if (name.Length > MaxDisplayNameLength)
        {
            return $"a display name is at most {MaxDisplayNameLength} characters";
        }

        return FindUnsafe(name) is { } bad ? $"a display name may not contain control or bidi-override characters (found {bad})" : null;
    }

    /// <summary>
    /// Null when <paramref name="hostname"/> is a valid node hostname (what a node reports at registration); else
    /// why not. The registration path calls this before anything is written.
    /// </summary>
    public static string? CheckHostname(string? hostname)
    {
        if (string.IsNullOrWhiteSpace(hostname) || hostname.Length > MaxHostnameLength)
        {
            return $"hostname must be 1 to {MaxHostnameLength} characters";
        }

        return FindUnsafe(hostname) is { } bad ? $"hostname may not contain control or bidi-override characters (found {bad})" : null;
    }

    /// <summary>The first refused character of <paramref name="text"/> as "U+XXXX", or null when there is none.</summary>
    public static string? FindUnsafe(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                return $"U+{(int)text[i]:X4}";
            }

            if (IsUnsafe(rune))
            {
                return $"U+{rune.Value:X4}";
            }

            i += used;
        }

        return null;
    }

    /// <summary>
    /// <paramref name="text"/> with every refused character written as \u{XXXX} (and a backslash as \\ so an escape
    /// cannot be forged): what human output prints for names stored before validation existed.
    /// </summary>
    public static string Printable(string? text)
    {
        if (text is null)
        {
            return "";
        }

        if (FindUnsafe(text) is null && !text.Contains('\\'))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length;)
        {
            if (Rune.DecodeFromUtf16(text.AsSpan(i), out var rune, out var used) != System.Buffers.OperationStatus.Done)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{{{(int)text[i]:X4}}}");
                i++;
                continue;
            }

            if (IsUnsafe(rune))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{{{rune.Value:X4}}}");
            }
            else if (rune.Value == '\\')
            {
                sb.Append(@"\\");
            }
            else
            {
                sb.Append(text, i, used);
            }

            i += used;
        }

        return sb.ToString();
    }

    private static bool IsUnsafe(Rune rune) => Rune.GetUnicodeCategory(rune) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
        or UnicodeCategory.Surrogate;
}
