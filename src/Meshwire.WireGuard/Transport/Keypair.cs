using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Protocol;
using NSec.Cryptography;

namespace Meshwire.WireGuard.Transport;

// Flow: a finished handshake hands SessionKeys to `new Keypair(...)`; the keypair is installed in the peer's
// KeypairSet. Sending: TryReserveSendCounter -> Seal into the caller's buffer -> socket. Receiving: the caller reads
// the receiver index, finds the keypair (KeypairSet.FindByLocalIndex) -> Open in place -> TUN.

/// <summary>
/// One session's symmetric state (whitepaper 5.4.6): a sending key with its nonce counter, a receiving key with its
/// replay window, and the indices that name the session on the wire.
/// </summary>
/// <remarks>
/// Seal and Open may run concurrently on any number of threads: the counter is reserved atomically, the AEAD is the
/// stateless libsodium construction behind NSec, and the replay window has its own short lock. Neither allocates nor
/// throws for any datagram content. Disposing erases both keys; a Seal or Open racing with it fails cleanly.
/// </remarks>
public sealed class Keypair : IDisposable
{
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.ChaCha20Poly1305;

    private readonly Key _sendKey;
    private readonly Key _receiveKey;
    private readonly ReplayWindow _replayWindow = new();

    // The next counter to hand out; only moves forward, and never past RejectAfterMessages.
    private ulong _sendCounter;
    private volatile bool _disposed;

    public Keypair(in SessionKeys keys, TimeSpan created)
    {
        var parameters = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.None };
        _sendKey = Key.Import(Aead, keys.SendKey.Span, KeyBlobFormat.RawSymmetricKey, in parameters);
        _receiveKey = Key.Import(Aead, keys.ReceiveKey.Span, KeyBlobFormat.RawSymmetricKey, in parameters);
        LocalIndex = keys.LocalIndex;
        RemoteIndex = keys.RemoteIndex;
        IsInitiator = keys.IsInitiator;
        Created = created;
    }

    /// <summary>The index peers put on packets to us under this session.</summary>
    public uint LocalIndex { get; }

    /// <summary>The index we put on packets to the peer under this session.</summary>
    public uint RemoteIndex { get; }

    /// <summary>True if we sent the initiation; only the initiator rekeys on age (whitepaper 6.2).</summary>
    public bool IsInitiator { get; }

    /// <summary>Monotonic time the session was derived.</summary>
    public TimeSpan Created { get; }

    /// <summary>The counter the next reservation would get; at RejectAfterMessages once exhausted.</summary>
    public ulong SendCounterPeek => Volatile.Read(ref _sendCounter);

    /// <summary>The receive side's replay window.</summary>
    internal ReplayWindow ReplayWindow => _replayWindow;

    /// <summary>
    /// Reserves a fresh nonce counter for one message. Returns false once REJECT_AFTER_MESSAGES counters were used;
    /// the keypair must then not send again (a nonce is never reused, even under concurrent senders).
    /// </summary>
    public bool TryReserveSendCounter(out ulong counter)
    {
        var current = Volatile.Read(ref _sendCounter);
        while (current < WireGuardConstants.RejectAfterMessages)
        {
            var seen = Interlocked.CompareExchange(ref _sendCounter, current + 1, current);
            if (seen == current)
            {
                counter = current;
                return true;
            }

            current = seen;
        }

        counter = 0;
        return false;
    }

    /// <summary>
    /// Builds a transport message in place. The caller has put <paramref name="plaintextLength"/> bytes of IP packet at
    /// <c>datagram[16..]</c>; this writes the header, zero pads the packet to a multiple of 16, encrypts it in place,
    /// appends the tag and returns the datagram length (0 only if the keypair was disposed meanwhile).
    /// <paramref name="datagram"/> must hold <see cref="TransportMessage.DatagramLength"/> bytes: a shorter buffer is a
    /// programming error and throws.
    /// </summary>
    public int Seal(ulong counter, Span<byte> datagram, int plaintextLength) =>
        SealPadded(counter, datagram, TransportMessage.PaddedLength(plaintextLength), plaintextLength);

    /// <summary>
    /// <see cref="Seal(ulong, Span{byte}, int)"/> with the padding capped at the tunnel <paramref name="mtu"/>, which is
    /// what wireguard-go and the kernel send.
    /// </summary>
    public int Seal(ulong counter, Span<byte> datagram, int plaintextLength, int mtu) =>
        SealPadded(counter, datagram, TransportMessage.PaddedLength(plaintextLength, mtu), plaintextLength);

    private int SealPadded(ulong counter, Span<byte> datagram, int padded, int plaintextLength)
    {
        var length = TransportMessage.HeaderLength + padded + TransportMessage.TagLength;
        if (plaintextLength < 0 || datagram.Length < length)
        {
            throw new ArgumentException($"A {plaintextLength}-byte packet needs a {length}-byte datagram buffer, got {datagram.Length}.", nameof(datagram));
        }

        if (_disposed)
        {
            return 0;
        }

        TransportMessage.WriteHeader(datagram, RemoteIndex, counter);
        var body = datagram.Slice(TransportMessage.HeaderLength, padded + TransportMessage.TagLength);
        body[plaintextLength..padded].Clear();

        Span<byte> nonce = stackalloc byte[TransportMessage.NonceLength];
        TransportMessage.WriteNonce(nonce, counter);
        try
        {
            // libsodium encrypts in place when plaintext and ciphertext start at the same address.
            Aead.Encrypt(_sendKey, nonce, ReadOnlySpan<byte>.Empty, body[..padded], body);
        }
        catch (ObjectDisposedException)
        {
            // Only reachable when Dispose raced with this call.
            return 0;
        }

        return length;
    }

    /// <summary>
    /// Authenticates and decrypts a transport message in place. <paramref name="datagram"/> is exactly the received
    /// datagram; the caller has checked its type and that its receiver is <see cref="LocalIndex"/>. On
    /// <see cref="OpenStatus.Ok"/> the (still padded) plaintext is <c>datagram[16..(16 + plaintextLength)]</c>; a length
    /// of zero is a keepalive. The replay window only learns counters whose tag verified.
    /// </summary>
    public OpenStatus Open(Span<byte> datagram, TimeSpan now, out int plaintextLength)
    {
        plaintextLength = 0;
        if (datagram.Length < TransportMessage.MinimumLength)
        {
            return OpenStatus.TooShort;
        }

        if (_disposed || IsExpired(now))
        {
            return OpenStatus.Expired;
        }

        var counter = TransportMessage.ReadCounter(datagram);
        var body = datagram[TransportMessage.HeaderLength..];
        var length = body.Length - TransportMessage.TagLength;

        Span<byte> nonce = stackalloc byte[TransportMessage.NonceLength];
        TransportMessage.WriteNonce(nonce, counter);
        bool authentic;
        try
        {
            authentic = Aead.Decrypt(_receiveKey, nonce, ReadOnlySpan<byte>.Empty, body, body[..length]);
        }
        catch (ObjectDisposedException)
        {
            return OpenStatus.Expired;
        }

        if (!authentic)
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

    /// <summary>True once the keypair is REJECT_AFTER_TIME old: it may neither send nor receive (whitepaper 6.2).</summary>
    public bool IsExpired(TimeSpan now) => now - Created >= WireGuardConstants.RejectAfterTime;

    /// <summary>Erases both keys. Later Seal returns 0 and Open returns <see cref="OpenStatus.Expired"/>.</summary>
    public void Dispose()
    {
        _disposed = true;
        _sendKey.Dispose();
        _receiveKey.Dispose();
    }

    /// <summary>Test hook: moves the send counter, e.g. next to REKEY_AFTER_MESSAGES.</summary>
    internal void SetSendCounterForTesting(ulong next) => Volatile.Write(ref _sendCounter, next);

    public override string ToString() => $"keypair(local={LocalIndex:x8}, remote={RemoteIndex:x8}, initiator={IsInitiator})";
}
