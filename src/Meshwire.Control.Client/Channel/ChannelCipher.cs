using System.Buffers.Binary;
using System.Security.Cryptography;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Protocol;
using Meshwire.WireGuard.Transport;

namespace Meshwire.Control.Channel;

/// <summary>
/// Seals and opens the control channel's frames in the WireGuard transport format (whitepaper 5.4.6: type 4,
/// receiver index, 64-bit counter, ChaCha20-Poly1305 with nonce = 4 zero bytes || counter LE, no associated data,
/// padding to 16), byte for byte what the data plane's <see cref="Keypair"/> produces.
/// Why not Keypair itself: it keeps each key in libsodium guarded memory, one mapping set per key (about 8
/// mappings per channel), and a server holding 10k channels would pass vm.max_map_count (65530 by default) and
/// die with "Out of memory". The BCL's ChaCha20Poly1305 keeps its key in an ordinary native context.
/// Sending is serialized by the caller (SecureFrames' send lock); one reader at a time.
/// </summary>
internal sealed class ChannelCipher : IDisposable
{
    private readonly ChaCha20Poly1305 _send;
    private readonly ChaCha20Poly1305 _receive;
    private readonly ReplayWindow _replayWindow = new();
    private ulong _sendCounter;

    public ChannelCipher(in SessionKeys keys)
    {
        _send = new ChaCha20Poly1305(keys.SendKey.Span);
        _receive = new ChaCha20Poly1305(keys.ReceiveKey.Span);
        LocalIndex = keys.LocalIndex;
        RemoteIndex = keys.RemoteIndex;
    }

    public uint LocalIndex { get; }

    public uint RemoteIndex { get; }

    public bool TryReserveSendCounter(out ulong counter)
    {
        counter = _sendCounter;
        if (counter >= WireGuardConstants.RejectAfterMessages)
        {
            return false;
        }

        _sendCounter++;
        return true;
    }

    /// <summary>Seals <c>datagram[16..16+plaintextLength]</c> in place; returns the datagram length.</summary>
    public int Seal(ulong counter, Span<byte> datagram, int plaintextLength)
    {
        var padded = TransportMessage.PaddedLength(plaintextLength);
        var length = TransportMessage.HeaderLength + padded + TransportMessage.TagLength;
        BinaryPrimitives.WriteUInt32LittleEndian(datagram, TransportMessage.MessageType);
        BinaryPrimitives.WriteUInt32LittleEndian(datagram[4..], RemoteIndex);
        BinaryPrimitives.WriteUInt64LittleEndian(datagram[8..], counter);
        var body = datagram.Slice(TransportMessage.HeaderLength, padded);
        body[plaintextLength..].Clear();
        Span<byte> nonce = stackalloc byte[12];
        WriteNonce(nonce, counter);
        _send.Encrypt(nonce, body, body, datagram.Slice(TransportMessage.HeaderLength + padded, TransportMessage.TagLength));
        return length;
    }

    /// <summary>Authenticates and decrypts in place; the plaintext (still padded) is <c>datagram[16..16+plaintextLength]</c>.</summary>
    public OpenStatus Open(Span<byte> datagram, TimeSpan age, out int plaintextLength)
    {
        plaintextLength = 0;
        if (datagram.Length < TransportMessage.MinimumLength)
        {
            return OpenStatus.TooShort;
        }

        if (age >= WireGuardConstants.RejectAfterTime)
        {
            return OpenStatus.Expired;
        }

        var counter = TransportMessage.ReadCounter(datagram);
        var length = datagram.Length - TransportMessage.HeaderLength - TransportMessage.TagLength;
        var body = datagram.Slice(TransportMessage.HeaderLength, length);
        Span<byte> nonce = stackalloc byte[12];
        WriteNonce(nonce, counter);
        try
        {
            _receive.Decrypt(nonce, body, datagram.Slice(TransportMessage.HeaderLength + length, TransportMessage.TagLength), body);
        }
        catch (AuthenticationTagMismatchException)
        {
            return OpenStatus.AuthenticationFailed;
        }

        if (!_replayWindow.TryAccept(counter))
        {
            return OpenStatus.Replayed;
        }

        plaintextLength = length;
        return OpenStatus.Ok;
    }

    private static void WriteNonce(Span<byte> nonce, ulong counter)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(nonce, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(nonce[4..], counter);
    }

    public void Dispose()
    {
        _send.Dispose();
        _receive.Dispose();
    }
}
