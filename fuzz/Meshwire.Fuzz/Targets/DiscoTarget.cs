using Meshwire.Core;
using Meshwire.Paths.Disco;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// Discovery messages (src/Meshwire.Paths/Disco): the first input byte chooses what the rest is. Even: a datagram
/// as it arrives on the UDP socket, opened with the box of the peer it names. Odd: the plaintext inside the box,
/// sealed here with the peer's keys so that the payload reader sees it (a fuzzer cannot forge the tag).
/// Contract: nothing throws; the status follows the framing rules in order (NotDisco, Truncated, Oversize,
/// WrongSender, Forged) and only a datagram past them all can open; a sealed payload reads as Ok exactly when the payload
/// reader accepts it, and an accepted message written again gives the same plaintext and opens to the same message.
/// </summary>
public static class DiscoTarget
{
    public static readonly FuzzTarget Target = new("disco", "disco datagrams: framing, sealed box, payload reader", Run, Seeds);

    private static readonly Lazy<(DiscoBox Local, DiscoBox Remote)> Boxes = new(() =>
    {
        var localKey = DiscoPrivateKey.FromSpan(RelayFramesTarget.Fixed(21));
        var remoteKey = DiscoPrivateKey.FromSpan(RelayFramesTarget.Fixed(22));
        var local = DiscoBox.TryCreate(localKey, DiscoKeys.PublicKeyOf(remoteKey))!;
        var remote = DiscoBox.TryCreate(remoteKey, DiscoKeys.PublicKeyOf(localKey))!;
        return (local, remote);
    });

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var (local, remote) = Boxes.Value;
        if ((input[0] & 1) == 0)
        {
            var datagram = input[1..];
            var status = DiscoWire.TryRead(datagram, local, out _);
            // Ok needs the peer's seal key (the seeds hold real sealed datagrams); anything else is decided by the framing.
            var rules = ExpectedFraming(datagram, local);
            Check(status == rules || (rules == DiscoReadStatus.Forged && status is DiscoReadStatus.Ok or DiscoReadStatus.Malformed or DiscoReadStatus.UnsupportedVersion),
                $"status {status} where the framing rules give {rules}");
            Check(DiscoWire.TryReadSender(datagram, out var sender) == (DiscoWire.IsDiscoMessage(datagram) && datagram.Length >= DiscoConstants.HeaderLength), "TryReadSender disagrees with the header rules");
            Check(status != DiscoReadStatus.Forged || sender == remote.Local, "a Forged datagram whose sender is not the box's peer");
            return;
        }

        var plaintext = input[1..];
        var sealedDatagram = new byte[DiscoConstants.HeaderLength + plaintext.Length + DiscoConstants.TagLength];
        DiscoConstants.Magic.CopyTo(sealedDatagram);
        remote.Local.Value.CopyTo(sealedDatagram.AsSpan(DiscoConstants.MagicLength));
        var nonce = sealedDatagram.AsSpan(DiscoConstants.MagicLength + DiscoConstants.KeyLength, DiscoConstants.NonceLength);
        remote.Seal(nonce, sealedDatagram.AsSpan(0, DiscoConstants.AssociatedDataLength), plaintext, sealedDatagram.AsSpan(DiscoConstants.HeaderLength));

        var read = DiscoWire.TryRead(sealedDatagram, local, out var message);
        var direct = DiscoPayload.TryRead(plaintext, out var directMessage);
        var framing = ExpectedFraming(sealedDatagram, local);
        if (framing != DiscoReadStatus.Forged)
        {
            Check(read == framing, $"status {read} where the framing rules give {framing}");
            return;
        }

        Check(read == direct, $"the sealed payload reads as {read}, the plaintext as {direct}");
        if (read != DiscoReadStatus.Ok)
        {
            Check(read is DiscoReadStatus.Malformed or DiscoReadStatus.UnsupportedVersion, $"payload status {read}");
            return;
        }

        var length = DiscoPayload.LengthOf(message);
        Check(length == plaintext.Length, $"a {plaintext.Length}-byte payload read as a message of {length} bytes");
        var written = new byte[length];
        DiscoPayload.Write(message, written);
        Check(written.AsSpan().SequenceEqual(plaintext), "the message does not write back the same plaintext");
        Check(Same(message, directMessage), "the sealed and the plain reading differ");

        var datagramAgain = new byte[DiscoWire.LengthOf(message)];
        Check(DiscoWire.TryWrite(message, remote, datagramAgain, out var n) && n == datagramAgain.Length, "TryWrite failed for a message that was read");
        Check(DiscoWire.TryRead(datagramAgain, local, out var reopened) == DiscoReadStatus.Ok && Same(reopened, message), "a written message does not open to itself");
    }

    /// <summary>The checks DiscoWire.TryRead makes before any cryptography, in its documented order; Forged means "reaches the box".</summary>
    private static DiscoReadStatus ExpectedFraming(ReadOnlySpan<byte> datagram, DiscoBox box)
    {
        if (datagram.Length < DiscoConstants.MagicLength || !datagram[..DiscoConstants.MagicLength].SequenceEqual(DiscoConstants.Magic))
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

        return datagram.Slice(DiscoConstants.MagicLength, DiscoConstants.KeyLength).SequenceEqual(box.Remote.Value.Span)
            ? DiscoReadStatus.Forged
            : DiscoReadStatus.WrongSender;
    }

    private static bool Same(in DiscoMessage a, in DiscoMessage b) =>
        a.Type == b.Type && a.UnixMs == b.UnixMs && a.TxId == b.TxId && a.NodeKey == b.NodeKey && a.Source == b.Source
        && a.Endpoints.SequenceEqual(b.Endpoints);

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var (_, remote) = Boxes.Value;
        var tx = new DiscoTxId(0x0102030405060708, 0x090A0B0C);
        var node = new NodePublicKey(Key32.FromSpan(RelayFramesTarget.Fixed(1)));
        var endpoints = new[] { EndpointAddress.FromBytes([192, 0, 2, 1], 41641), EndpointAddress.FromBytes(new byte[16] { 0xfd, 0x7a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, 41641) };
        DiscoMessage[] messages =
        [
            DiscoMessage.Ping(tx, node, 1_764_806_400_000),
            DiscoMessage.Pong(tx, endpoints[0], 1_764_806_400_001),
            DiscoMessage.CallMeMaybe(endpoints, 1_764_806_400_002),
            DiscoMessage.CallMeMaybe([], 1_764_806_400_003),
        ];
        foreach (var message in messages)
        {
            var plaintext = new byte[DiscoPayload.LengthOf(message)];
            DiscoPayload.Write(message, plaintext);
            yield return ($"plain-{message.Type.ToString().ToLowerInvariant()}-{message.EndpointCount}", [1, .. plaintext]);
            var datagram = new byte[DiscoWire.LengthOf(message)];
            DiscoWire.TryWrite(message, remote, datagram, out _);
            yield return ($"sealed-{message.Type.ToString().ToLowerInvariant()}-{message.EndpointCount}", [0, .. datagram]);
        }
    }
}
