using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// The handshake readers (src/Meshwire.WireGuard/Noise: MessageReader, CookieChecker, InitiationReader). The first
/// input byte chooses: even, the rest is a datagram given to every reader as is; odd, the rest is XORed into a real
/// initiation from B to A (whose ephemeral key, static key and timestamp are sealed), which A's reader then opens.
/// Contract: nothing throws; TryGetType accepts exactly the known types with zero reserved bytes and their sizes; the
/// index readers read the documented offsets; only what B sealed opens, and the mutated initiation opens exactly when none of its sealed or hashed bytes
/// (type to timestamp) changed, and then names B's key and the sender index it carries.
/// </summary>
public static class WireGuardHandshakeTarget
{
    public static readonly FuzzTarget Target = new("wireguard-handshake", "WireGuard handshake readers: message type, indices, MAC1, initiation", Run, Seeds);

    private static readonly Lazy<(LocalIdentity A, CookieChecker Checker, byte[] Initiation, NodePublicKey B)> Fixture = new(() =>
    {
        var a = new LocalIdentity(WireGuardDeviceTarget.KeyA);
        var b = X25519Keys.PublicKeyOf(WireGuardDeviceTarget.KeyB);
        var initiation = new WireGuardDeviceTarget.PeerHandshakeProbe(WireGuardDeviceTarget.KeyB, a.PublicKey).Initiation;
        return (a, new CookieChecker(a), initiation, b);
    });

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var (identity, checker, initiation, b) = Fixture.Value;
        if ((input[0] & 1) == 0)
        {
            var message = input[1..];
            CheckReaders(message);
            _ = checker.CheckMac1(message);
            _ = checker.CheckMac2(message, WireGuardDeviceTarget.EndpointB, TimeSpan.FromDays(21));
            // Only a holder of a private key seals an initiation that opens: here B's, whose real message is in the seeds.
            var rawOpened = InitiationReader.TryConsume(identity, message, out var rawConsumed);
            Check(rawOpened == (rawConsumed is not null) && (!rawOpened || rawConsumed!.InitiatorStatic == b), "an initiation opened that B did not seal");
            return;
        }

        var mutated = initiation.ToArray();
        var flips = input[1..];
        for (var i = 0; i < Math.Min(flips.Length, mutated.Length); i++)
        {
            mutated[i] ^= flips[i];
        }

        CheckReaders(mutated);
        var sealedUnchanged = mutated.AsSpan(0, 4).SequenceEqual(initiation.AsSpan(0, 4)) && mutated.AsSpan(8, 108).SequenceEqual(initiation.AsSpan(8, 108));
        var opened = InitiationReader.TryConsume(identity, mutated, out var consumed);
        Check(opened == sealedUnchanged, opened ? "a changed initiation opened" : "an unchanged initiation did not open");
        if (opened)
        {
            Check(consumed!.InitiatorStatic == b, "the initiation names another key than its sender's");
            Check(consumed.SenderIndex == MessageReader.ReadSenderIndex(mutated), "the consumed sender index is not the message's");
        }

        var mac1Unchanged = mutated.AsSpan(0, 132).SequenceEqual(initiation.AsSpan(0, 132));
        Check(checker.CheckMac1(mutated) == mac1Unchanged, "MAC1 verdict does not follow the bytes it covers");
    }

    private static void CheckReaders(ReadOnlySpan<byte> message)
    {
        var known = MessageReader.TryGetType(message, out var type);
        var expected = message.Length >= 4 && message[1] == 0 && message[2] == 0 && message[3] == 0 && message[0] switch
        {
            MessageType.Initiation => message.Length == MessageSize.Initiation,
            MessageType.Response => message.Length == MessageSize.Response,
            MessageType.CookieReply => message.Length == MessageSize.CookieReply,
            MessageType.Transport => message.Length >= MessageSize.TransportMinimum,
            _ => false,
        };
        Check(known == expected && (!known || type == message[0]), $"TryGetType says {known} (type {type}) for a {message.Length}-byte message starting {Convert.ToHexString(message[..Math.Min(4, message.Length)])}");

        var receiverOffset = message.IsEmpty ? -1 : message[0] switch { MessageType.Response => 8, MessageType.CookieReply or MessageType.Transport => 4, _ => -1 };
        var receiver = MessageReader.ReadReceiverIndex(message);
        Check(receiverOffset < 0 || message.Length < receiverOffset + 4 || receiver == BitConverter.ToUInt32(message.Slice(receiverOffset, 4)), "receiver index not at its offset");
        Check(receiverOffset >= 0 && message.Length >= receiverOffset + 4 || receiver == 0, "a receiver index for a message without one");
        var sender = MessageReader.ReadSenderIndex(message);
        var hasSender = message.Length >= 8 && message[0] is MessageType.Initiation or MessageType.Response;
        Check(hasSender ? sender == BitConverter.ToUInt32(message.Slice(4, 4)) : sender == 0, "sender index not at its offset");
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var initiation = Fixture.Value.Initiation;
        yield return ("unchanged-initiation", [1]);
        yield return ("flip-sender-index", [1, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0]);
        yield return ("flip-timestamp", [1, .. new byte[100], 0x01]);
        yield return ("raw-initiation", [0, .. initiation]);
        yield return ("raw-response", [0, 2, 0, 0, 0, .. new byte[88]]);
        yield return ("raw-cookie-reply", [0, 3, 0, 0, 0, .. new byte[60]]);
        yield return ("raw-transport", [0, 4, 0, 0, 0, .. new byte[28]]);
    }
}
