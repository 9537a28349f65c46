using Meshwire.Core;
using NSec.Cryptography;

namespace Meshwire.Paths.Disco;

/// <summary>
/// The two XChaCha20-Poly1305 keys between this node and one peer, derived once per (local, remote) disco key pair:
///   shared  = X25519(local private, remote public)
///   seal    = HKDF-SHA256(ikm = shared, salt = empty, info = "meshwire disco v1" || local public || remote public)
///   open    = HKDF-SHA256(ikm = shared, salt = empty, info = "meshwire disco v1" || remote public || local public)
/// Each direction has its own key (the sender's public key comes first), so a message cannot be reflected back to its
/// sender, and a message sealed for one receiver does not open at another.
/// </summary>
public sealed class DiscoBox : IDisposable
{
    private DiscoBox(DiscoPublicKey local, DiscoPublicKey remote, Key seal, Key open)
    {
        Local = local;
        Remote = remote;
        SealKey = seal;
        OpenKey = open;
    }

    public DiscoPublicKey Local { get; }

    public DiscoPublicKey Remote { get; }

    internal static AeadAlgorithm Aead { get; } = AeadAlgorithm.XChaCha20Poly1305;

    internal Key SealKey { get; }

    internal Key OpenKey { get; }

    /// <summary>Null when <paramref name="remote"/> is not a usable X25519 public key (a low-order point, for instance).</summary>
    public static DiscoBox? TryCreate(DiscoPrivateKey local, DiscoPublicKey remote)
    {
        using var privateKey = DiscoKeys.Import(local);
        var localPublic = new DiscoPublicKey(Key32.FromSpan(privateKey.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
        if (!PublicKey.TryImport(KeyAgreementAlgorithm.X25519, remote.Value.Span, KeyBlobFormat.RawPublicKey, out var peer) || peer is null)
        {
            return null;
        }

        using var shared = KeyAgreementAlgorithm.X25519.Agree(privateKey, peer);
        if (shared is null)
        {
            return null;
        }

        var seal = Derive(shared, localPublic, remote);
        var open = Derive(shared, remote, localPublic);
        return new DiscoBox(localPublic, remote, seal, open);
    }

    public void Dispose()
    {
        SealKey.Dispose();
        OpenKey.Dispose();
    }

    private static Key Derive(SharedSecret shared, DiscoPublicKey sender, DiscoPublicKey receiver)
    {
        var label = DiscoConstants.KdfLabel;
        Span<byte> info = stackalloc byte[label.Length + (2 * DiscoConstants.KeyLength)];
        label.CopyTo(info);
        sender.Value.CopyTo(info[label.Length..]);
        receiver.Value.CopyTo(info[(label.Length + DiscoConstants.KeyLength)..]);
        return KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, default, info, Aead);
    }
}
