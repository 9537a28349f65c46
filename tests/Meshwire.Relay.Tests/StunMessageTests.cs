using System.Net;
using Meshwire.Core;
using Meshwire.Relay.Stun;

namespace Meshwire.Relay.Tests;

public sealed class StunMessageTests
{
    // RFC 5769 section 2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT).
    private static readonly byte[] SampleRequest = Convert.FromHexString(
        "000100582112a442b7e7a701bc34d686fa87dfae" +
        "802200105354554e20746573742063" + "6c69656e74" +
        "002400046e0001ff" +
        "80290008932ff9b151263b36" +
        "000600096576746a3a68367659202020" +
        "000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2" +
        "80280004e57a3bcf");

    // RFC 5769 section 2.2: sample IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853.
    private static readonly byte[] SampleIPv4Response = Convert.FromHexString(
        "0101003c2112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000080001a147e112a643" +
        "000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
        "80280004c07d4c96");

    // RFC 5769 section 2.3: sample IPv6 response, XOR-MAPPED-ADDRESS [2001:db8:1234:5678:11:2233:4455:6677]:32853.
    private static readonly byte[] SampleIPv6Response = Convert.FromHexString(
        "010100482112a442b7e7a701bc34d686fa87dfae" +
        "8022000b7465737420766563746f7220" +
        "002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9" +
        "00080014a382954e4be67bf11784c97c8292c275bfe3ed41" +
        "80280004c8fb0b4c");

    private static readonly StunTransactionId VectorTransaction = StunTransactionId.Read(Convert.FromHexString("b7e7a701bc34d686fa87dfae"));

    [Fact]
    public void TryReadBindingRequest_Rfc5769Sample_OkWithTransaction()
    {
        Assert.Equal(108, SampleRequest.Length);
        Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingRequest(SampleRequest, out var transaction));
        Assert.Equal(VectorTransaction, transaction);
    }

    [Fact]
    public void TryReadBindingResponse_Rfc5769IPv4Sample_MapsAddress()
    {
        Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingResponse(SampleIPv4Response, VectorTransaction, out var mapped));
        Assert.Equal("192.0.2.1:32853", mapped.ToString());
    }

    [Fact]
    public void TryReadBindingResponse_Rfc5769IPv6Sample_MapsAddress()
    {
        Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingResponse(SampleIPv6Response, VectorTransaction, out var mapped));
        Assert.Equal(IPEndPoint.Parse("[2001:db8:1234:5678:11:2233:4455:6677]:32853"), mapped.ToIPEndPoint());
    }

    [Fact]
    public void TryReadBindingResponse_OtherTransaction_Rejected()
    {
        var other = VectorTransaction with { Low = VectorTransaction.Low ^ 1 };
        Assert.Equal(StunReadStatus.OtherTransaction, StunMessage.TryReadBindingResponse(SampleIPv4Response, other, out _));
    }

    [Fact]
    public void TryReadBindingResponse_EveryTruncation_NotOk()
    {
        for (var cut = 0; cut < SampleIPv4Response.Length; cut++)
        {
            Assert.NotEqual(StunReadStatus.Ok, StunMessage.TryReadBindingResponse(SampleIPv4Response.AsSpan(0, cut), VectorTransaction, out _));
        }
    }

    [Fact]
    public void TryReadBindingResponse_CorruptedSoftware_BadFingerprint()
    {
        var corrupted = (byte[])SampleIPv4Response.Clone();
        corrupted[25] ^= 1;
        Assert.Equal(StunReadStatus.BadFingerprint, StunMessage.TryReadBindingResponse(corrupted, VectorTransaction, out _));
    }

    [Fact]
    public void TryReadBindingRequest_Response_WrongType() =>
        Assert.Equal(StunReadStatus.WrongType, StunMessage.TryReadBindingRequest(SampleIPv4Response, out _));

    [Fact]
    public void TryReadBindingRequest_OversizedLengthField_NotStun()
    {
        var bad = (byte[])SampleRequest.Clone();
        bad[3] += 4;
        Assert.Equal(StunReadStatus.NotStun, StunMessage.TryReadBindingRequest(bad, out _));
    }

    [Theory]
    [InlineData("198.51.100.7:40000")]
    [InlineData("[2001:db8::5]:3478")]
    public void WriteBindingResponse_ReadBack_SameAddress(string endpoint)
    {
        var transaction = StunTransactionId.NewRandom();
        var mapped = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse(endpoint));
        var buffer = new byte[StunMessage.MaxResponseLength];
        var n = StunMessage.WriteBindingResponse(buffer, transaction, mapped);
        Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingResponse(buffer.AsSpan(0, n), transaction, out var read));
        Assert.Equal(mapped, read);
    }

    [Fact]
    public void Answer_OwnRequest_RespondsWithSource()
    {
        var transaction = StunTransactionId.NewRandom();
        var request = new byte[28];
        Assert.Equal(28, StunMessage.WriteBindingRequest(request, transaction));
        var source = EndpointAddress.FromIPEndPoint(IPEndPoint.Parse("203.0.113.9:5555"));
        var response = new byte[StunMessage.MaxResponseLength];
        var n = StunServer.Answer(request, source, response);
        Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingResponse(response.AsSpan(0, n), transaction, out var mapped));
        Assert.Equal(source, mapped);
    }

    [Fact]
    public void Answer_Garbage_Ignored() => Assert.Equal(0, StunServer.Answer("hello, not stun at all"u8, default, new byte[64]));
}
