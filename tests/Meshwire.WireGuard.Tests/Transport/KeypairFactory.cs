using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;
using Meshwire.Testing;

namespace Meshwire.WireGuard.Tests.Transport;

/// <summary>Two keypairs that talk to each other, as an initiator and responder would derive them.</summary>
internal static class KeypairFactory
{
    public static readonly Key32 KeyA = Key32.FromSpan(Enumerable.Range(0, 32).Select(i => (byte)(i + 1)).ToArray());
    public static readonly Key32 KeyB = Key32.FromSpan(Enumerable.Range(0, 32).Select(i => (byte)(0xa0 ^ i)).ToArray());

    public const uint InitiatorIndex = 0x11223344;
    public const uint ResponderIndex = 0xa1b2c3d4;

    /// <summary>A pair created at <paramref name="created"/>; weeks into the host's uptime when omitted.</summary>
    public static (Keypair Initiator, Keypair Responder) CreatePair(TimeSpan? created = null) =>
        (new Keypair(new SessionKeys(KeyA, KeyB, InitiatorIndex, ResponderIndex, IsInitiator: true), created ?? UptimeClock.WeeksOfUptime),
         new Keypair(new SessionKeys(KeyB, KeyA, ResponderIndex, InitiatorIndex, IsInitiator: false), created ?? UptimeClock.WeeksOfUptime));

    public static Keypair Create(uint localIndex, bool isInitiator = true, TimeSpan? created = null) =>
        new(new SessionKeys(KeyA, KeyB, localIndex, localIndex ^ 0xffffffff, isInitiator), created ?? UptimeClock.WeeksOfUptime);
}
