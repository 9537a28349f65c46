using Meshwire.Core;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// What a completed handshake hands to the transport layer (whitepaper 5.4.5): the two symmetric keys and the
/// indices that name the session on the wire. LocalIndex is the receiver index peers put on packets to us;
/// RemoteIndex is the one we put on packets to them.
/// </summary>
public readonly record struct SessionKeys(Key32 SendKey, Key32 ReceiveKey, uint LocalIndex, uint RemoteIndex, bool IsInitiator)
{
    public override string ToString() => $"session(local={LocalIndex:x8}, remote={RemoteIndex:x8}, initiator={IsInitiator})";
}
