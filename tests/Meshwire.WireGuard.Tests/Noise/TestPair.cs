using Meshwire.Core;
using Meshwire.Testing;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Tests.Noise;

/// <summary>Two devices that know each other, each with its handshake for the other and its cookie checker.</summary>
internal sealed class TestPair
{
    public static readonly DateTimeOffset Wall0 = new(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The monotonic "now" the tests start at: weeks into a host's uptime, as a real device's is.</summary>
    public static readonly TimeSpan Now0 = UptimeClock.WeeksOfUptime;

    /// <summary><see cref="Now0"/> plus <paramref name="seconds"/>.</summary>
    public static TimeSpan At(double seconds) => Now0 + TimeSpan.FromSeconds(seconds);

    public TestPair(PresharedKey initiatorPsk = default, PresharedKey responderPsk = default)
    {
        InitiatorIdentity = new LocalIdentity(X25519Keys.GeneratePrivateKey());
        ResponderIdentity = new LocalIdentity(X25519Keys.GeneratePrivateKey());
        Initiator = new Handshake(InitiatorIdentity, ResponderIdentity.PublicKey, initiatorPsk);
        Responder = new Handshake(ResponderIdentity, InitiatorIdentity.PublicKey, responderPsk);
        InitiatorCookies = new CookieChecker(InitiatorIdentity);
        ResponderCookies = new CookieChecker(ResponderIdentity);
    }

    public LocalIdentity InitiatorIdentity { get; }

    public LocalIdentity ResponderIdentity { get; }

    public Handshake Initiator { get; }

    public Handshake Responder { get; }

    public CookieChecker InitiatorCookies { get; }

    public CookieChecker ResponderCookies { get; }

    public byte[] CreateInitiation(uint index = 0x0102_0304, DateTimeOffset? wall = null, TimeSpan? now = null)
    {
        var message = new byte[MessageSize.Initiation];
        Assert.True(Initiator.TryCreateInitiation(index, wall ?? Wall0, now ?? Now0, message));
        return message;
    }

    /// <summary>Responder side of the first message: MAC1, decrypt, accept. Returns false at the first failure.</summary>
    public bool TryReceiveInitiation(byte[] initiation, TimeSpan now)
    {
        return ResponderCookies.CheckMac1(initiation)
            && InitiationReader.TryConsume(ResponderIdentity, initiation, out var consumed)
            && Responder.TryAccept(consumed!, now);
    }

    public byte[] CreateResponse(out SessionKeys keys, uint index = 0x0A0B_0C0D, TimeSpan? now = null)
    {
        var message = new byte[MessageSize.Response];
        Assert.True(Responder.TryCreateResponse(index, now ?? Now0, message, out keys));
        return message;
    }

    /// <summary>Runs a whole handshake and returns both sides' keys.</summary>
    public (SessionKeys Initiator, SessionKeys Responder) Complete(DateTimeOffset? wall = null, TimeSpan? now = null)
    {
        var at = now ?? Now0;
        var initiation = CreateInitiation(wall: wall, now: at);
        Assert.True(TryReceiveInitiation(initiation, at));
        var response = CreateResponse(out var responderKeys, now: at);
        Assert.True(InitiatorCookies.CheckMac1(response));
        Assert.True(Initiator.TryConsumeResponse(response, out var initiatorKeys));
        return (initiatorKeys, responderKeys);
    }
}
