using System.Buffers.Binary;
using Meshwire.Core;
using Meshwire.Relay.Stun;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// STUN (src/Meshwire.Relay/Stun): the input is one UDP datagram, read as a Binding request (the relay's STUN server)
/// and as a Binding response (a node's NAT discovery). Contract: nothing throws; Ok only for datagrams that
/// look like STUN with a length matching the header; a response read as Ok names the address that writing a response
/// for it reads back; the server's answer to any request is a response the client reads as Ok, carrying the source.
/// </summary>
public static class StunTarget
{
    public static readonly FuzzTarget Target = new("stun", "STUN Binding request/response reader and the server's answer", Run, Seeds);

    private static readonly EndpointAddress Source4 = EndpointAddress.FromBytes([198, 51, 100, 7], 40000);
    private static readonly EndpointAddress Source6 = EndpointAddress.FromBytes([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42], 3478);

    public static void Run(ReadOnlySpan<byte> datagram)
    {
        var request = StunMessage.TryReadBindingRequest(datagram, out var requestTx);
        CheckStatus(request, datagram);
        if (request == StunReadStatus.Ok)
        {
            Check(BinaryPrimitives.ReadUInt16BigEndian(datagram) == StunMessage.BindingRequest, "a request of another type read as Ok");
            Check(requestTx == StunTransactionId.Read(datagram[8..]), "the request's transaction id is not bytes 8..20");
        }

        var expected = datagram.Length >= StunMessage.HeaderLength ? StunTransactionId.Read(datagram[8..]) : default;
        var response = StunMessage.TryReadBindingResponse(datagram, expected, out var mapped);
        CheckStatus(response, datagram);
        if (response == StunReadStatus.Ok)
        {
            Check(BinaryPrimitives.ReadUInt16BigEndian(datagram) == StunMessage.BindingSuccessResponse, "a response of another type read as Ok");
            var written = new byte[StunMessage.MaxResponseLength];
            var n = StunMessage.WriteBindingResponse(written, expected, mapped);
            Check(StunMessage.TryReadBindingResponse(written.AsSpan(0, n), expected, out var again) == StunReadStatus.Ok && again == mapped,
                "a response written for the mapped address does not read back");
            var other = new StunTransactionId(expected.High ^ 1, expected.Low);
            Check(StunMessage.TryReadBindingResponse(datagram, other, out _) == StunReadStatus.OtherTransaction, "a response to another transaction read as Ok");
        }

        foreach (var source in (ReadOnlySpan<EndpointAddress>)[Source4, Source6])
        {
            var answer = new byte[StunMessage.MaxResponseLength];
            var length = StunServer.Answer(datagram, source, answer);
            Check((length == 0) == (request != StunReadStatus.Ok), "the server answered a datagram that is not a valid request, or ignored a valid one");
            if (length > 0)
            {
                Check(length <= StunMessage.MaxResponseLength, "the answer is longer than MaxResponseLength");
                Check(StunMessage.TryReadBindingResponse(answer.AsSpan(0, length), requestTx, out var seen) == StunReadStatus.Ok && seen == source,
                    "the server's answer does not read back as the source address");
            }
        }
    }

    private static void CheckStatus(StunReadStatus status, ReadOnlySpan<byte> datagram)
    {
        Check(Enum.IsDefined(status), $"undefined status {status}");
        if (status != StunReadStatus.NotStun)
        {
            Check(StunMessage.LooksLikeStun(datagram) && BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]) + StunMessage.HeaderLength == datagram.Length,
                $"{status} for a datagram whose header is not STUN's");
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var tx = new StunTransactionId(0x0102030405060708, 0x090A0B0C);
        var buffer = new byte[StunMessage.MaxResponseLength];
        yield return ("request", buffer.AsSpan(0, StunMessage.WriteBindingRequest(buffer, tx)).ToArray());
        yield return ("response-v4", buffer.AsSpan(0, StunMessage.WriteBindingResponse(buffer, tx, Source4)).ToArray());
        yield return ("response-v6", buffer.AsSpan(0, StunMessage.WriteBindingResponse(buffer, tx, Source6)).ToArray());

        // RFC 5769 section 2.1: the sample request (with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT).
        yield return ("rfc5769-request", Convert.FromHexString(
            "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf"));

        // A response with only the old MAPPED-ADDRESS attribute (RFC 3489 servers) and no fingerprint.
        var plain = new byte[StunMessage.HeaderLength + 12];
        BinaryPrimitives.WriteUInt16BigEndian(plain, StunMessage.BindingSuccessResponse);
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(2), 12);
        BinaryPrimitives.WriteUInt32BigEndian(plain.AsSpan(4), StunMessage.MagicCookie);
        tx.Write(plain.AsSpan(8));
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(20), StunMessage.AttrMappedAddress);
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(22), 8);
        plain[25] = 1;
        BinaryPrimitives.WriteUInt16BigEndian(plain.AsSpan(26), 3478);
        plain[28] = 192;
        plain[29] = 0;
        plain[30] = 2;
        plain[31] = 1;
        yield return ("response-mapped-address", plain);
    }
}
