using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Meshwire.Policy.Commands;

/// <summary>
/// Reads a text file a verb was given (a policy, a relay map) with a size bound: at most <c>maxBytes</c> are read
/// whatever the file is, so /dev/zero, /dev/urandom or a huge file end in a clear error instead of exhausting
/// memory. The text must be UTF-8 without NUL characters (a binary file is refused, not parsed).
/// </summary>
public static class PolicyFile
{
    /// <summary>The largest policy file read: the policy parser's own limit.</summary>
    public const int MaxBytes = HuJson.HuJsonReader.DefaultMaxLength;

    /// <summary>The file's text, or false with a message that says what is wrong and what to give instead.</summary>
    public static bool TryRead(string path, int maxBytes, out string text, out string error) => TryRead(path, maxBytes, "a policy (HuJSON text)", out text, out error);

    /// <summary>As <see cref="TryRead(string, int, out string, out string)"/> for a file holding <paramref name="what"/> ("a relay map").</summary>
    public static bool TryRead(string path, int maxBytes, string what, out string text, out string error)
    {
        ArgumentNullException.ThrowIfNull(path);
        text = "";
        byte[] buffer;
        int length;
        bool regular;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 1, FileOptions.SequentialScan);
            // One byte past the limit tells "exactly the limit" from "more"; the read never goes further.
            buffer = new byte[Math.Min(maxBytes + 1L, 64 * 1024)];
            length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > maxBytes)
                    {
                        break;
                    }

                    Array.Resize(ref buffer, (int)Math.Min(buffer.Length * 2L, maxBytes + 1L));
                }

                var n = stream.Read(buffer, length, buffer.Length - length);
                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            // A regular file's size is what was read; a device or pipe reports 0 (or nothing) however much it gives.
            regular = File.Exists(path) && new FileInfo(path).Length >= Math.Min(length, maxBytes + 1L);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = $"cannot read the file: {e.Message}";
            return false;
        }

        if (length > maxBytes)
        {
            error = regular
                ? $"the file is larger than {maxBytes} bytes, the most {what} may be"
                : $"the file is not a regular file and gave more than {maxBytes} bytes (a device such as /dev/zero never ends); give a file holding {what}";
            return false;
        }

        var span = buffer.AsSpan(0, length);
        if (span.IndexOf((byte)0) is var nul and >= 0)
        {
            error = $"the file holds a NUL byte at offset {nul}: it is binary, not {what}";
            return false;
        }

        var start = span.StartsWith(Encoding.UTF8.Preamble) ? Encoding.UTF8.Preamble.Length : 0;
        var chars = new char[length];
        if (Utf8.ToUtf16(span[start..], chars, out var read, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            error = $"the file is not UTF-8 text (invalid byte at offset {start + read}); save it as UTF-8";
            return false;
        }

        text = new string(chars, 0, written);
        error = "";
        return true;
    }
}
