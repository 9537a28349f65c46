using Meshwire.Core;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Noise;

/// <summary>
/// The device's static key pair and the values derived from it once: the key incoming MAC1s are checked with and
/// the key cookie replies are sealed with (W 5.4.4, 5.4.7). Immutable, so any thread may share it; a key change
/// means a new instance.
/// </summary>
public sealed class LocalIdentity
{
    public LocalIdentity(NodePrivateKey privateKey)
    {
        if (privateKey.IsZero)
        {
            throw new ArgumentException("The private key is all zero.", nameof(privateKey));
        }

        PrivateKey = privateKey;
        PublicKey = X25519Keys.PublicKeyOf(privateKey);
        Mac1Key = NoiseConstants.LabelKey(NoiseConstants.LabelMac1, PublicKey);
        CookieKey = NoiseConstants.LabelKey(NoiseConstants.LabelCookie, PublicKey);
        InitialHash = NoiseConstants.HashWithResponderStatic(PublicKey);
    }

    public NodePrivateKey PrivateKey { get; }

    public NodePublicKey PublicKey { get; }

    /// <summary>HASH(LABEL_MAC1 || S_pub): peers key the MAC1 of messages to us with it.</summary>
    internal Key32 Mac1Key { get; }

    /// <summary>HASH(LABEL_COOKIE || S_pub): we seal cookie replies with it.</summary>
    internal Key32 CookieKey { get; }

    /// <summary>HASH(H_i || S_pub): where every initiation addressed to us starts its transcript.</summary>
    internal Key32 InitialHash { get; }
}
