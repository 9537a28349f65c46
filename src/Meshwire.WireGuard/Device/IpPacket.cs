using System.Buffers.Binary;

namespace Meshwire.WireGuard.Device;

/// <summary>The few IP header fields crypto-key routing needs (RFC 791, RFC 8200). Never throws.</summary>
internal static class IpPacket
{
    private const int IPv4HeaderMinimum = 20;
    private const int IPv6HeaderLength = 40;

    /// <summary>Destination address bytes (4 or 16) of an IPv4 or IPv6 packet.</summary>
    public static bool TryGetDestination(ReadOnlySpan<byte> packet, out ReadOnlySpan<byte> destination)
    {
        destination = default;
        if (packet.Length == 0)
        {
            return false;
        }

        switch (packet[0] >> 4)
        {
            case 4 when packet.Length >= IPv4HeaderMinimum:
                destination = packet.Slice(16, 4);
                return true;
            case 6 when packet.Length >= IPv6HeaderLength:
                destination = packet.Slice(24, 16);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Source address and true length of a decrypted packet, which WireGuard padded to 16 bytes.
    /// Fails when the header is short or claims more bytes than arrived.
    /// </summary>
    public static bool TryGetSourceAndLength(ReadOnlySpan<byte> padded, out ReadOnlySpan<byte> source, out int length)
    {
        source = default;
        length = 0;
        if (padded.Length == 0)
        {
            return false;
        }

        switch (padded[0] >> 4)
        {
            case 4 when padded.Length >= IPv4HeaderMinimum:
                length = BinaryPrimitives.ReadUInt16BigEndian(padded.Slice(2, 2));
                if (length < IPv4HeaderMinimum || length > padded.Length)
                {
                    return false;
                }

                source = padded.Slice(12, 4);
                return true;
            case 6 when padded.Length >= IPv6HeaderLength:
                length = IPv6HeaderLength + BinaryPrimitives.ReadUInt16BigEndian(padded.Slice(4, 2));
                if (length > padded.Length)
                {
                    return false;
                }

                source = padded.Slice(8, 16);
                return true;
            default:
                return false;
        }
    }
}
