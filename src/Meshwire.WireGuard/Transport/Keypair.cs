using System.Security.Cryptography;
using Meshwire.Core.Crypto;
using Meshwire.WireGuard.Crypto;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Protocol;

namespace Meshwire.WireGuard.Transport;

// Flow: a finished handshake hands SessionKeys to `new Keypair(...)`; the keypair is installed in the peer's
// KeypairSet. Sending: TryReserveSendCounter -> Seal into the caller's buffer -> socket. Receiving: the caller reads
// the receiver index, finds the keypair (KeypairSet.FindByLocalIndex) -> Open in place -> TUN.

/// <summary>
/// One session's symmetric state (whitepaper 5.4.6): a sending key with its nonce counter, a receiving key with its
/// replay window, and the indices that name the session on the wire.
/// </summary>
/// <remarks>
/// Seal and Open may run concurrently on any number of threads: the counter is reserved atomically, the AEAD is
/// libsodium's stateless ChaCha20-Poly1305 (<see cref="SodiumAead"/>), and the replay window has its own short lock. Neither
/// allocates nor throws for any datagram content. The two keys live in one small pinned array of this keypair, not in
/// guarded allocations (see <see cref="SodiumAead"/> for why). Disposing erases them once no Seal or Open is using them; a
/// Seal or Open that starts after Dispose fails cleanly, so no packet is ever sealed with an erased (all-zero) key.
/// </remarks>
public sealed class Keypair : IDisposable
{
    private const int SendKeyOffset = 0;
    private const int ReceiveKeyOffset = Aead.KeyLength;

    // Send key, then receive key; erased by Dispose. Pinned, so that no compaction leaves a copy of the keys behind
    // in memory the GC freed, where Dispose could not erase it.
    private readonly byte[] _keys = GC.AllocateUninitializedArray<byte>(2 * Aead.KeyLength, pinned: true);
    private readonly ReplayWindow _replayWindow = new();

    // The next counter to hand out; only moves forward, and never past RejectAfterMessages.
    private ulong _sendCounter;

    // Dispose and the AEAD calls meet here (both sides use full fences, so one of them sees the other): a call
    // counts itself in, then checks _disposed; Dispose sets _disposed, then waits for _users to drain before erasing.
    private int _disposed;
    private int _users;

    public Keypair(in SessionKeys keys, TimeSpan created)
    {
        keys.SendKey.Span.CopyTo(_keys.AsSpan(SendKeyOffset, Aead.KeyLength));
        keys.ReceiveKey.Span.CopyTo(_keys.AsSpan(ReceiveKeyOffset, Aead.KeyLength));
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

        if (!TryEnter())
        {
            return 0;
        }

        try
        {
            TransportMessage.WriteHeader(datagram, RemoteIndex, counter);
            var body = datagram.Slice(TransportMessage.HeaderLength, padded + TransportMessage.TagLength);
            body[plaintextLength..padded].Clear();

            Span<byte> nonce = stackalloc byte[TransportMessage.NonceLength];
            TransportMessage.WriteNonce(nonce, counter);
            SodiumAead.SealInPlace(_keys.AsSpan(SendKeyOffset, Aead.KeyLength), nonce, body, padded);
        }
        finally
        {
            Exit();
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

        if (IsExpired(now) || !TryEnter())
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
            authentic = SodiumAead.OpenInPlace(_keys.AsSpan(ReceiveKeyOffset, Aead.KeyLength), nonce, body);
        }
        finally
        {
            Exit();
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
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Calls that counted themselves in before the flag was set finish with the keys intact (one AEAD each).
        var wait = new SpinWait();
        while (Volatile.Read(ref _users) != 0)
        {
            wait.SpinOnce();
        }

        CryptographicOperations.ZeroMemory(_keys);
    }

    private bool TryEnter()
    {
        Interlocked.Increment(ref _users);
        if (Volatile.Read(ref _disposed) != 0)
        {
            Interlocked.Decrement(ref _users);
            return false;
        }

        return true;
    }

    private void Exit() => Interlocked.Decrement(ref _users);

    /// <summary>Test hook: moves the send counter, e.g. next to REKEY_AFTER_MESSAGES.</summary>
    internal void SetSendCounterForTesting(ulong next) => Volatile.Write(ref _sendCounter, next);

    public override string ToString() => $"keypair(local={LocalIndex:x8}, remote={RemoteIndex:x8}, initiator={IsInitiator})";
}
