using System.Security.Cryptography;
using Meshwire.Core;

namespace Meshwire.Paths.Disco;

/// <summary>Outcome of reading a datagram as a discovery message.</summary>
public enum DiscoReadStatus
{
    Ok,

    /// <summary>No disco magic: hand the datagram to WireGuard or STUN.</summary>
    NotDisco,

    /// <summary>Has the magic but is shorter than the smallest message.</summary>
    Truncated,

    /// <summary>Longer than the largest message; dropped before any cryptography.</summary>
    Oversize,

    /// <summary>The header's sender key is not the key of the box it was opened with.</summary>
    WrongSender,

    /// <summary>The box does not open: bad tag, flipped bits, wrong key or wrong receiver.</summary>
    Forged,

    /// <summary>Opened, but the payload is not a well-formed message.</summary>
    Malformed,

    UnsupportedVersion,
}

/// <summary>
/// Framing of a discovery datagram (docs/discovery.md "Wire format"):
///   magic "MWDISC" (6) | sender disco public key (32) | nonce (24) | XChaCha20-Poly1305(payload) with its tag (16)
/// The associated data is magic and sender key. Reading: <see cref="IsDiscoMessage"/> to demultiplex,
/// <see cref="TryReadSender"/> to find the peer (and its <see cref="DiscoBox"/>), then <see cref="TryRead"/>.
/// Nothing here allocates or throws on bad input.
/// </summary>
public static class DiscoWire
{
    /// <summary>True when the datagram starts with the disco magic (a WireGuard or STUN datagram never does).</summary>
    public static bool IsDiscoMessage(ReadOnlySpan<byte> datagram) =>
        datagram.Length >= DiscoConstants.MagicLength && datagram[..DiscoConstants.MagicLength].SequenceEqual(DiscoConstants.Magic);

    /// <summary>The sender's disco public key from the clear header; unauthenticated until <see cref="TryRead"/> succeeds.</summary>
    public static bool TryReadSender(ReadOnlySpan<byte> datagram, out DiscoPublicKey sender)
    {
        sender = default;
        if (!IsDiscoMessage(datagram) || datagram.Length < DiscoConstants.HeaderLength)
        {
            return false;
        }

        sender = new DiscoPublicKey(Key32.FromSpan(datagram.Slice(DiscoConstants.MagicLength, DiscoConstants.KeyLength)));
        return true;
    }

    /// <summary>The nonce of a message (for replay bookkeeping); valid only after <see cref="TryRead"/> returned Ok.</summary>
    public static ReadOnlySpan<byte> NonceOf(ReadOnlySpan<byte> datagram) =>
        datagram.Slice(DiscoConstants.MagicLength + DiscoConstants.KeyLength, DiscoConstants.NonceLength);

    /// <summary>Length of the datagram <see cref="TryWrite"/> produces for <paramref name="message"/>.</summary>
    public static int LengthOf(in DiscoMessage message) =>
        DiscoConstants.HeaderLength + DiscoPayload.LengthOf(message) + DiscoConstants.TagLength;

    /// <summary>Seals <paramref name="message"/> from <see cref="DiscoBox.Local"/> to <see cref="DiscoBox.Remote"/> with a fresh random nonce.</summary>
    public static bool TryWrite(in DiscoMessage message, DiscoBox box, Span<byte> destination, out int written)
    {
        written = 0;
        var payloadLength = DiscoPayload.LengthOf(message);
        var total = DiscoConstants.HeaderLength + payloadLength + DiscoConstants.TagLength;
        if (destination.Length < total)
        {
            return false;
        }

        DiscoConstants.Magic.CopyTo(destination);
        box.Local.Value.CopyTo(destination[DiscoConstants.MagicLength..]);
        var nonce = destination.Slice(DiscoConstants.MagicLength + DiscoConstants.KeyLength, DiscoConstants.NonceLength);
        RandomNumberGenerator.Fill(nonce);

        Span<byte> plaintext = stackalloc byte[DiscoConstants.MaxCallMeMaybePayloadLength];
        plaintext = plaintext[..payloadLength];
        DiscoPayload.Write(message, plaintext);
        box.Seal(nonce, destination[..DiscoConstants.AssociatedDataLength], plaintext, destination.Slice(DiscoConstants.HeaderLength, payloadLength + DiscoConstants.TagLength));
        written = total;
        return true;
    }

    /// <summary>Opens a datagram sent by <see cref="DiscoBox.Remote"/> to <see cref="DiscoBox.Local"/>. Freshness is the caller's check.</summary>
    public static DiscoReadStatus TryRead(ReadOnlySpan<byte> datagram, DiscoBox box, out DiscoMessage message)
    {
        message = default;
        if (!IsDiscoMessage(datagram))
        {
            return DiscoReadStatus.NotDisco;
        }

        if (datagram.Length < DiscoConstants.MinMessageLength)
        {
            return DiscoReadStatus.Truncated;
        }

        if (datagram.Length > DiscoConstants.MaxMessageLength)
        {
            return DiscoReadStatus.Oversize;
        }

        if (!datagram.Slice(DiscoConstants.MagicLength, DiscoConstants.KeyLength).SequenceEqual(box.Remote.Value.Span))
        {
            return DiscoReadStatus.WrongSender;
        }

        var sealedLength = datagram.Length - DiscoConstants.HeaderLength;
        Span<byte> plaintext = stackalloc byte[DiscoConstants.MaxCallMeMaybePayloadLength];
        plaintext = plaintext[..(sealedLength - DiscoConstants.TagLength)];
        if (!box.TryOpen(NonceOf(datagram), datagram[..DiscoConstants.AssociatedDataLength], datagram[DiscoConstants.HeaderLength..], plaintext))
        {
            return DiscoReadStatus.Forged;
        }

        return DiscoPayload.TryRead(plaintext, out message);
    }
}
