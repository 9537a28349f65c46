using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

public sealed class MessageReaderTests
{
    private static byte[] Message(byte type, int length)
    {
        var message = new byte[length];
        if (length > 0)
        {
            message[0] = type;
        }

        return message;
    }

    [Theory]
    [InlineData(MessageType.Initiation, 148)]
    [InlineData(MessageType.Response, 92)]
    [InlineData(MessageType.CookieReply, 64)]
    [InlineData(MessageType.Transport, 32)]
    [InlineData(MessageType.Transport, 1500)]
    public void TryGetType_ExactSize_ReturnsType(byte type, int length)
    {
        Assert.True(MessageReader.TryGetType(Message(type, length), out var read));
        Assert.Equal(type, read);
    }

    [Theory]
    [InlineData(MessageType.Initiation, 147)]
    [InlineData(MessageType.Initiation, 149)]
    [InlineData(MessageType.Response, 91)]
    [InlineData(MessageType.Response, 93)]
    [InlineData(MessageType.CookieReply, 63)]
    [InlineData(MessageType.CookieReply, 65)]
    [InlineData(MessageType.Transport, 31)]
    [InlineData(0, 148)]
    [InlineData(5, 148)]
    [InlineData(MessageType.Initiation, 0)]
    [InlineData(MessageType.Initiation, 3)]
    public void TryGetType_WrongSizeOrType_False(byte type, int length)
    {
        Assert.False(MessageReader.TryGetType(Message(type, length), out var read));
        Assert.Equal(0, read);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void TryGetType_ReservedByteSet_False(int index)
    {
        var message = Message(MessageType.Transport, 32);
        message[index] = 1;

        Assert.False(MessageReader.TryGetType(message, out _));
    }

    [Theory]
    [InlineData(MessageType.Response, 92, 8)]
    [InlineData(MessageType.CookieReply, 64, 4)]
    [InlineData(MessageType.Transport, 32, 4)]
    public void ReadReceiverIndex_KnownOffset_LittleEndian(byte type, int length, int offset)
    {
        var message = Message(type, length);
        message[offset] = 0x78;
        message[offset + 1] = 0x56;
        message[offset + 2] = 0x34;
        message[offset + 3] = 0x12;

        Assert.Equal(0x12345678u, MessageReader.ReadReceiverIndex(message));
    }

    [Fact]
    public void ReadReceiverIndex_InitiationOrTooShort_Zero()
    {
        Assert.Equal(0u, MessageReader.ReadReceiverIndex(Message(MessageType.Initiation, 148)));
        Assert.Equal(0u, MessageReader.ReadReceiverIndex(Message(MessageType.Response, 10)));
        Assert.Equal(0u, MessageReader.ReadReceiverIndex([]));
    }

    [Fact]
    public void ReadSenderIndex_InitiationAndResponse_Offset4()
    {
        var initiation = Message(MessageType.Initiation, 148);
        initiation[4] = 0xEF;
        initiation[7] = 0xBE;
        Assert.Equal(0xBE0000EFu, MessageReader.ReadSenderIndex(initiation));
        Assert.Equal(0u, MessageReader.ReadSenderIndex(Message(MessageType.Transport, 32)));
    }
}
