using System.Buffers;
using System.Text;
using Meshwire.WireGuard.Config;

namespace Meshwire.Net.Uapi;

/// <summary>What <see cref="UapiRequestReader.TryRead"/> found.</summary>
internal enum UapiReadStatus
{
    /// <summary>No whole request yet. The bytes of whole lines were consumed; call again with the rest and more.</summary>
    NeedMoreData,

    /// <summary>"get=1" and the blank line: answer with the device's status.</summary>
    Get,

    /// <summary>A whole, valid set request, through its blank line: apply the update and answer with the device's errno.</summary>
    Set,

    /// <summary>A whole set request with a bad line: answer its errno. Nothing is applied; the connection stays in step.</summary>
    SetRejected,

    /// <summary>The connection cannot go on: answer the errno unless it is 0, then close. Nothing is applied.</summary>
    Close,
}

/// <summary>One step of <see cref="UapiRequestReader"/>: what it found, how many input bytes it used, and the request.</summary>
internal readonly record struct UapiReadResult(UapiReadStatus Status, int Consumed, int Errno = 0, DeviceConfigUpdate? Update = null);

/// <summary>
/// Reads the requests of one UAPI connection from its bytes, sans I/O: the caller passes what it has received and not
/// yet consumed, and gets back the next whole request or "need more data".
/// Flow: operation line ("set=1" or "get=1") → for get, the byte after it must end the request (a blank line) →
/// for set, key=value lines into a <see cref="UapiSetParser"/> until the blank line, and only then the update.
/// A connection that ends before the blank line therefore yields nothing to apply.
/// Bounds (<see cref="UapiLimits"/>): a line longer than <see cref="UapiLimits.MaxLineBytes"/> is refused as soon as
/// that many bytes arrive without a newline, so a caller never needs a bigger buffer than MaxLineBytes + 1; a set
/// longer than <see cref="UapiLimits.MaxRequestLines"/> lines is refused at the line past the bound. Both close the
/// connection, since the rest of the request cannot be skipped in bounded time and memory.
/// As in wireguard-go: the operation line must be exact, a body line may end in "\r\n", an unknown operation closes
/// without an answer, and a get followed by anything but a blank line answers EINVAL (and here closes).
/// </summary>
internal sealed class UapiRequestReader
{
    private State _state = State.Operation;
    private UapiSetParser? _set;
    private int _setLines;

    private enum State
    {
        Operation,
        GetTerminator,
        SetBody,
        Closed,
    }

    /// <summary>True between the first byte of a request and its end: a connection closing now cuts a request off.</summary>
    public bool InRequest => _state is State.GetTerminator or State.SetBody;

    /// <summary>
    /// Consumes whole lines of <paramref name="input"/> until one request is whole, a bound is broken, or no whole line
    /// is left. Never consumes part of a line. After <see cref="UapiReadStatus.Close"/> the reader is done.
    /// </summary>
    public UapiReadResult TryRead(ReadOnlySpan<byte> input)
    {
        if (_state == State.Closed)
        {
            throw new InvalidOperationException("The connection has been closed; its reader reads no more.");
        }

        var consumed = 0;
        while (true)
        {
            var rest = input[consumed..];
            if (_state == State.GetTerminator)
            {
                if (rest.IsEmpty)
                {
                    return new UapiReadResult(UapiReadStatus.NeedMoreData, consumed);
                }

                _state = State.Operation;
                return rest[0] == (byte)'\n'
                    ? new UapiReadResult(UapiReadStatus.Get, consumed + 1)
                    : Close(consumed + 1, UapiErrors.Invalid);
            }

            var newline = rest.IndexOf((byte)'\n');
            if ((newline < 0 ? rest.Length : newline) > UapiLimits.MaxLineBytes)
            {
                return Close(consumed, UapiErrors.MessageTooLong);
            }

            if (newline < 0)
            {
                return new UapiReadResult(UapiReadStatus.NeedMoreData, consumed);
            }

            var line = rest[..newline];
            consumed += newline + 1;
            if (_state == State.Operation)
            {
                if (line.SequenceEqual("set=1"u8))
                {
                    _state = State.SetBody;
                    _set = new UapiSetParser();
                    _setLines = 0;
                    continue;
                }

                if (line.SequenceEqual("get=1"u8))
                {
                    _state = State.GetTerminator;
                    continue;
                }

                return Close(consumed, errno: 0);
            }

            if (line.EndsWith((byte)'\r'))
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                _state = State.Operation;
                var set = _set!;
                _set = null;
                return set.TryComplete(out var update, out var errno)
                    ? new UapiReadResult(UapiReadStatus.Set, consumed, Update: update)
                    : new UapiReadResult(UapiReadStatus.SetRejected, consumed, errno);
            }

            if (++_setLines > UapiLimits.MaxRequestLines)
            {
                return Close(consumed, UapiErrors.MessageTooLong);
            }

            AddLine(_set!, line);
        }
    }

    /// <summary>The configuration protocol is ASCII: a line with any other byte is invalid.</summary>
    private static void AddLine(UapiSetParser set, ReadOnlySpan<byte> line)
    {
        Span<char> text = stackalloc char[UapiLimits.MaxLineBytes];
        if (Ascii.ToUtf16(line, text, out var length) != OperationStatus.Done)
        {
            set.Reject(UapiErrors.Invalid);
            return;
        }

        set.AddLine(text[..length]);
    }

    private UapiReadResult Close(int consumed, int errno)
    {
        _state = State.Closed;
        _set = null;
        return new UapiReadResult(UapiReadStatus.Close, consumed, errno);
    }
}
