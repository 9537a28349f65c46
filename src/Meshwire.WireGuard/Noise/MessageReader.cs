using System.Buffers.Binary;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// First look at a received datagram: which message it is and which index it names. Fields are little-endian
/// (W 5.4). Nothing here authenticates anything; MAC1 and the AEADs do that later.
/// </summary>
public static class MessageReader
{
    /// <summary>
    /// True when the datagram starts with a known type byte and three zero reserved bytes and has the exact size of
    /// that type (at least <see cref="MessageSize.TransportMinimum"/> for transport).
    /// </summary>
    public static bool TryGetType(ReadOnlySpan<byte> datagram, out byte type)
    {
        type = 0;
        if (datagram.Length < 4 || datagram[1] != 0 || datagram[2] != 0 || datagram[3] != 0)
        {
            return false;
        }

        var sizeMatches = datagram[0] switch
        {
            MessageType.Initiation => datagram.Length == MessageSize.Initiation,
            MessageType.Response => datagram.Length == MessageSize.Response,
            MessageType.CookieReply => datagram.Length == MessageSize.CookieReply,
            MessageType.Transport => datagram.Length >= MessageSize.TransportMinimum,
            _ => false,
        };
        if (!sizeMatches)
        {
            return false;
        }

        type = datagram[0];
        return true;
    }

    /// <summary>
    /// The receiver index of a response (offset 8), cookie reply or transport message (offset 4): the index the
    /// receiving side chose. Call after <see cref="TryGetType"/>; returns 0 for a message that has no receiver index
    /// or is too short.
    /// </summary>
    public static uint ReadReceiverIndex(ReadOnlySpan<byte> msg)
    {
        if (msg.Length < 4)
        {
            return 0;
        }

        var offset = msg[0] switch
        {
            MessageType.Response => MessageLayout.ResponseReceiver,
            MessageType.CookieReply => MessageLayout.CookieReplyReceiver,
            MessageType.Transport => MessageLayout.TransportReceiver,
            _ => -1,
        };
        return offset >= 0 && msg.Length >= offset + 4 ? BinaryPrimitives.ReadUInt32LittleEndian(msg[offset..]) : 0;
    }

    /// <summary>
    /// The sender index of an initiation or response (offset 4): the index the sender wants on messages to it.
    /// Returns 0 for other messages or when too short.
    /// </summary>
    public static uint ReadSenderIndex(ReadOnlySpan<byte> msg)
    {
        if (msg.Length < MessageLayout.SenderOffset + 4 || (msg[0] != MessageType.Initiation && msg[0] != MessageType.Response))
        {
            return 0;
        }

        return BinaryPrimitives.ReadUInt32LittleEndian(msg[MessageLayout.SenderOffset..]);
    }
}
