using System.Buffers.Binary;
using Meshwire.Core;

namespace Meshwire.Relay.Stun;

/// <summary>A STUN transaction id (RFC 8489 section 5): 96 random bits.</summary>
public readonly record struct StunTransactionId(ulong High, uint Low)
{
    public const int Length = 12;

    public static StunTransactionId NewRandom()
    {
        Span<byte> bytes = stackalloc byte[Length];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return Read(bytes);
    }

    public static StunTransactionId Read(ReadOnlySpan<byte> bytes) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt32BigEndian(destination[8..], Low);
    }
}

/// <summary>Outcome of reading a datagram as a STUN Binding message.</summary>
public enum StunReadStatus
{
    Ok,
    NotStun,
    WrongType,
    OtherTransaction,
    BadFingerprint,
    NoMappedAddress,
}

/// <summary>
/// Sans-I/O STUN Binding (RFC 8489, RFC 5389): build and read requests and success responses over spans.
/// Only what a relay's STUN server and a node's NAT discovery need: no authentication, no TURN.
/// </summary>
public static class StunMessage
{
    // RFC 8489 section 5: header layout and the magic cookie.
    public const int HeaderLength = 20;
    public const uint MagicCookie = 0x2112A442;

    // RFC 8489 sections 5 and 18.2: Binding method in the request and success-response classes.
    public const ushort BindingRequest = 0x0001;
    public const ushort BindingSuccessResponse = 0x0101;

    // RFC 8489 section 18.3: attribute types.
    public const ushort AttrMappedAddress = 0x0001;
    public const ushort AttrXorMappedAddress = 0x0020;
    public const ushort AttrSoftware = 0x8022;
    public const ushort AttrFingerprint = 0x8028;

    // RFC 8489 section 14.7: FINGERPRINT is CRC-32 of the message XORed with this.
    public const uint FingerprintXor = 0x5354554E;

    private const byte FamilyIPv4 = 0x01;
    private const byte FamilyIPv6 = 0x02;

    /// <summary>Largest response <see cref="WriteBindingResponse"/> writes (IPv6 XOR-MAPPED-ADDRESS, SOFTWARE, FINGERPRINT).</summary>
    public const int MaxResponseLength = HeaderLength + 24 + 12 + 8;

    private static ReadOnlySpan<byte> Software => "meshwire"u8;

    /// <summary>A Binding request with only a FINGERPRINT attribute.</summary>
    public static int WriteBindingRequest(Span<byte> destination, StunTransactionId transaction)
    {
        WriteHeader(destination, BindingRequest, 8, transaction);
        return AppendFingerprint(destination, HeaderLength);
    }

    /// <summary>
    /// Reads a Binding request: header checks of RFC 8489 section 6.3 and the FINGERPRINT when present.
    /// Other attributes are ignored, which the relay can afford since it answers nothing but the mapped address.
    /// </summary>
    public static StunReadStatus TryReadBindingRequest(ReadOnlySpan<byte> datagram, out StunTransactionId transaction)
    {
        var status = ReadHeader(datagram, out var type, out transaction);
        if (status != StunReadStatus.Ok)
        {
            return status;
        }

        if (type != BindingRequest)
        {
            return StunReadStatus.WrongType;
        }

        return WalkAttributes(datagram, out _, out _);
    }

    /// <summary>A Binding success response carrying XOR-MAPPED-ADDRESS, SOFTWARE and FINGERPRINT.</summary>
    public static int WriteBindingResponse(Span<byte> destination, StunTransactionId transaction, EndpointAddress mapped)
    {
        var addressLength = mapped.IsIPv4 ? 4 : 16;
        var xorLength = 4 + 4 + addressLength;
        var bodyLength = xorLength + 4 + ((Software.Length + 3) & ~3) + 8;
        WriteHeader(destination, BindingSuccessResponse, bodyLength, transaction);

        var at = HeaderLength;
        BinaryPrimitives.WriteUInt16BigEndian(destination[at..], AttrXorMappedAddress);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 2)..], (ushort)(4 + addressLength));
        destination[at + 4] = 0;
        destination[at + 5] = mapped.IsIPv4 ? FamilyIPv4 : FamilyIPv6;
        BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 6)..], (ushort)(mapped.Port ^ (MagicCookie >> 16)));
        Span<byte> address = stackalloc byte[16];
        mapped.WriteAddress16(address);
        var value = destination.Slice(at + 8, addressLength);
        (mapped.IsIPv4 ? address[12..] : address).CopyTo(value);
        XorAddress(value, destination.Slice(4, 16));
        at += xorLength;

        BinaryPrimitives.WriteUInt16BigEndian(destination[at..], AttrSoftware);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 2)..], (ushort)Software.Length);
        Software.CopyTo(destination[(at + 4)..]);
        at += 4 + ((Software.Length + 3) & ~3);

        return AppendFingerprint(destination, at);
    }

    /// <summary>Reads a Binding success response to <paramref name="expected"/>: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS.</summary>
    public static StunReadStatus TryReadBindingResponse(ReadOnlySpan<byte> datagram, StunTransactionId expected, out EndpointAddress mapped)
    {
        mapped = default;
        var status = ReadHeader(datagram, out var type, out var transaction);
        if (status != StunReadStatus.Ok)
        {
            return status;
        }

        if (type != BindingSuccessResponse)
        {
            return StunReadStatus.WrongType;
        }

        if (transaction != expected)
        {
            return StunReadStatus.OtherTransaction;
        }

        status = WalkAttributes(datagram, out var xorMapped, out var plainMapped);
        if (status != StunReadStatus.Ok)
        {
            return status;
        }

        if (!xorMapped.IsEmpty)
        {
            return TryReadAddress(xorMapped, datagram.Slice(4, 16), out mapped) ? StunReadStatus.Ok : StunReadStatus.NotStun;
        }

        if (!plainMapped.IsEmpty)
        {
            return TryReadAddress(plainMapped, default, out mapped) ? StunReadStatus.Ok : StunReadStatus.NotStun;
        }

        return StunReadStatus.NoMappedAddress;
    }

    /// <summary>True when the first bytes look like STUN (RFC 8489 section 7: leading zero bits and the cookie).</summary>
    public static bool LooksLikeStun(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= HeaderLength && (datagram[0] & 0xC0) == 0 && BinaryPrimitives.ReadUInt32BigEndian(datagram[4..]) == MagicCookie;

    private static StunReadStatus ReadHeader(ReadOnlySpan<byte> datagram, out ushort type, out StunTransactionId transaction)
    {
        type = 0;
        transaction = default;
        if (!LooksLikeStun(datagram))
        {
            return StunReadStatus.NotStun;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        if ((length & 3) != 0 || HeaderLength + length != datagram.Length)
        {
            return StunReadStatus.NotStun;
        }

        type = BinaryPrimitives.ReadUInt16BigEndian(datagram);
        transaction = StunTransactionId.Read(datagram[8..]);
        return StunReadStatus.Ok;
    }

    // Walks the TLVs, remembers the address attributes' values, and checks FINGERPRINT, which must come last.
    private static StunReadStatus WalkAttributes(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> xorMapped, out ReadOnlySpan<byte> plainMapped)
    {
        xorMapped = default;
        plainMapped = default;
        var at = HeaderLength;
        while (at < datagram.Length)
        {
            if (datagram.Length - at < 4)
            {
                return StunReadStatus.NotStun;
            }

            var type = BinaryPrimitives.ReadUInt16BigEndian(datagram[at..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(datagram[(at + 2)..]);
            var padded = (length + 3) & ~3;
            if (datagram.Length - at - 4 < padded)
            {
                return StunReadStatus.NotStun;
            }

            var value = datagram.Slice(at + 4, length);
            switch (type)
            {
                case AttrXorMappedAddress when xorMapped.IsEmpty:
                    xorMapped = value;
                    break;
                case AttrMappedAddress when plainMapped.IsEmpty:
                    plainMapped = value;
                    break;
                case AttrFingerprint:
                    if (length != 4 || at + 8 != datagram.Length)
                    {
                        return StunReadStatus.NotStun;
                    }

                    var expected = Crc32.Compute(datagram[..at]) ^ FingerprintXor;
                    if (BinaryPrimitives.ReadUInt32BigEndian(value) != expected)
                    {
                        return StunReadStatus.BadFingerprint;
                    }

                    break;
            }

            at += 4 + padded;
        }

        return StunReadStatus.Ok;
    }

    private static bool TryReadAddress(ReadOnlySpan<byte> value, ReadOnlySpan<byte> xorKey, out EndpointAddress address)
    {
        address = default;
        if (value.Length < 4)
        {
            return false;
        }

        var addressLength = value[1] switch
        {
            FamilyIPv4 => 4,
            FamilyIPv6 => 16,
            _ => 0,
        };
        if (addressLength == 0 || value.Length != 4 + addressLength)
        {
            return false;
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(value[2..]);
        Span<byte> bytes = stackalloc byte[16];
        value.Slice(4, addressLength).CopyTo(bytes);
        if (!xorKey.IsEmpty)
        {
            port ^= (ushort)(MagicCookie >> 16);
            XorAddress(bytes[..addressLength], xorKey);
        }

        address = EndpointAddress.FromBytes(bytes[..addressLength], port);
        return true;
    }

    // RFC 8489 section 14.2: the address is XORed with the cookie (IPv4) or the cookie and transaction id (IPv6).
    private static void XorAddress(Span<byte> address, ReadOnlySpan<byte> cookieAndTransaction)
    {
        for (var i = 0; i < address.Length; i++)
        {
            address[i] ^= cookieAndTransaction[i];
        }
    }

    private static void WriteHeader(Span<byte> destination, ushort type, int bodyLength, StunTransactionId transaction)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, type);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], (ushort)bodyLength);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], MagicCookie);
        transaction.Write(destination[8..]);
    }

    private static int AppendFingerprint(Span<byte> destination, int at)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination[at..], AttrFingerprint);
        BinaryPrimitives.WriteUInt16BigEndian(destination[(at + 2)..], 4);
        BinaryPrimitives.WriteUInt32BigEndian(destination[(at + 4)..], Crc32.Compute(destination[..at]) ^ FingerprintXor);
        return at + 8;
    }
}
