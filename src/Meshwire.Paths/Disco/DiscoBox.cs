using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.Core.Crypto;
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
/// <remarks>
/// The two keys live in a small array of this box (not in NSec's guarded allocations: one box per peer of the netmap,
/// see <see cref="SodiumAead"/>); Dispose erases them, after which Seal throws and TryOpen fails. Single-threaded
/// like the PathManager that owns it.
/// </remarks>
public sealed class DiscoBox : IDisposable
{
    // Seal key, then open key; pinned (like a WireGuard keypair's) so no compaction leaves a copy Dispose cannot erase.
    private readonly byte[] _keys;
    private bool _disposed;

    private DiscoBox(DiscoPublicKey local, DiscoPublicKey remote, byte[] keys)
    {
        Local = local;
        Remote = remote;
        _keys = keys;
    }

    public DiscoPublicKey Local { get; }

    public DiscoPublicKey Remote { get; }

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

        var keys = GC.AllocateArray<byte>(2 * DiscoConstants.KeyLength, pinned: true);
        Derive(shared, localPublic, remote, keys.AsSpan(0, DiscoConstants.KeyLength));
        Derive(shared, remote, localPublic, keys.AsSpan(DiscoConstants.KeyLength));
        return new DiscoBox(localPublic, remote, keys);
    }

    /// <summary>XChaCha20-Poly1305 under the seal key (this node to <see cref="Remote"/>); destination = plaintext + tag.</summary>
    internal void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> plaintext, Span<byte> destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        SodiumAead.Seal(SodiumAeadKind.XChaCha20Poly1305, _keys.AsSpan(0, DiscoConstants.KeyLength), nonce, associatedData, plaintext, destination);
    }

    /// <summary>Opens under the open key (<see cref="Remote"/> to this node); false when forged or disposed.</summary>
    internal bool TryOpen(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> associatedData, ReadOnlySpan<byte> ciphertext, Span<byte> destination) =>
        !_disposed && SodiumAead.TryOpen(SodiumAeadKind.XChaCha20Poly1305, _keys.AsSpan(DiscoConstants.KeyLength), nonce, associatedData, ciphertext, destination);

    public void Dispose()
    {
        _disposed = true;
        CryptographicOperations.ZeroMemory(_keys);
    }

    private static void Derive(SharedSecret shared, DiscoPublicKey sender, DiscoPublicKey receiver, Span<byte> key)
    {
        var label = DiscoConstants.KdfLabel;
        Span<byte> info = stackalloc byte[label.Length + (2 * DiscoConstants.KeyLength)];
        label.CopyTo(info);
        sender.Value.CopyTo(info[label.Length..]);
        receiver.Value.CopyTo(info[(label.Length + DiscoConstants.KeyLength)..]);
        KeyDerivationAlgorithm.HkdfSha256.DeriveBytes(shared, default, info, key);
    }
}
