using System.Security.Cryptography;
using Meshwire.Core;
using NSec.Cryptography;

namespace Meshwire.Relay.Frames;

/// <summary>A shared secret that lets relays of one region connect to each other as privileged mesh peers.</summary>
public readonly record struct RelayMeshKey(Key32 Value)
{
    public static bool TryParse(string text, out RelayMeshKey key)
    {
        var ok = Key32.TryParseHex(text.Trim(), out var raw);
        key = new RelayMeshKey(raw);
        return ok && !raw.IsZero;
    }

    public override string ToString() => "meshkey:<redacted>";
}

/// <summary>
/// The ClientInfo frame: the client proves it holds its node private key.
/// key = HKDF-SHA256(ikm = X25519(client private, server public), salt = challenge,
///                   info = "meshwire-relay client proof v1" || client public || server public)
/// payload = client public (32) || nonce (24) || XChaCha20-Poly1305(key, nonce, version || flags || mesh key (32))
/// Only the holder of the client private key (or of the server private key) can produce a box that opens;
/// the challenge is fresh per connection, so a recorded ClientInfo does not replay.
/// </summary>
public static class ClientProof
{
    public const int NonceLength = 24;
    public const int TagLength = 16;
    public const int PlaintextLength = 2 + RelayProtocol.KeyLength;
    public const int PayloadLength = RelayProtocol.KeyLength + NonceLength + PlaintextLength + TagLength;
    public const int FrameLength = RelayProtocol.FrameHeaderLength + PayloadLength;

    private const byte FlagMesh = 0x01;
    private static ReadOnlySpan<byte> InfoLabel => "meshwire-relay client proof v1"u8;
    private static readonly AeadAlgorithm Aead = AeadAlgorithm.XChaCha20Poly1305;

    public static int WriteClientInfo(Span<byte> destination, NodePrivateKey clientKey, RelayPublicKey serverKey, ReadOnlySpan<byte> challenge, RelayMeshKey? meshKey)
    {
        var clientPublic = RelayKeys.PublicKeyOf(clientKey);
        using var privateKey = RelayKeys.ImportPrivate(clientKey.Value);
        using var aeadKey = DeriveKey(privateKey, serverKey.Value, challenge, clientPublic, serverKey)
            ?? throw new CryptographicException("The relay's server key is not a valid X25519 public key.");

        var h = RelayFrames.WriteHeader(destination, FrameType.ClientInfo, PayloadLength);
        var payload = destination.Slice(h, PayloadLength);
        clientPublic.Value.CopyTo(payload);
        var nonce = payload.Slice(RelayProtocol.KeyLength, NonceLength);
        RandomNumberGenerator.Fill(nonce);

        Span<byte> plaintext = stackalloc byte[PlaintextLength];
        plaintext[0] = RelayProtocol.Version;
        plaintext[1] = meshKey is null ? (byte)0 : FlagMesh;
        (meshKey?.Value ?? Key32.Zero).CopyTo(plaintext[2..]);
        Aead.Encrypt(aeadKey, nonce, default, plaintext, payload[(RelayProtocol.KeyLength + NonceLength)..]);
        CryptographicOperations.ZeroMemory(plaintext);
        return h + PayloadLength;
    }

    /// <summary>Opens a ClientInfo payload. False when malformed or when the proof does not open.</summary>
    public static bool TryOpen(ReadOnlySpan<byte> payload, Key serverPrivate, RelayPublicKey serverPublic, ReadOnlySpan<byte> challenge, out NodePublicKey client, out RelayMeshKey? meshKey)
    {
        client = default;
        meshKey = null;
        if (payload.Length != PayloadLength)
        {
            return false;
        }

        client = new NodePublicKey(Key32.FromSpan(payload[..RelayProtocol.KeyLength]));
        using var aeadKey = DeriveKey(serverPrivate, client.Value, challenge, client, serverPublic);
        if (aeadKey is null)
        {
            return false;
        }

        var nonce = payload.Slice(RelayProtocol.KeyLength, NonceLength);
        Span<byte> plaintext = stackalloc byte[PlaintextLength];
        if (!Aead.Decrypt(aeadKey, nonce, default, payload[(RelayProtocol.KeyLength + NonceLength)..], plaintext))
        {
            return false;
        }

        if (plaintext[0] != RelayProtocol.Version)
        {
            return false;
        }

        if ((plaintext[1] & FlagMesh) != 0)
        {
            meshKey = new RelayMeshKey(Key32.FromSpan(plaintext[2..]));
        }

        CryptographicOperations.ZeroMemory(plaintext);
        return true;
    }

    private static Key? DeriveKey(Key privateKey, Key32 otherPublic, ReadOnlySpan<byte> challenge, NodePublicKey clientPublic, RelayPublicKey serverPublic)
    {
        if (!PublicKey.TryImport(KeyAgreementAlgorithm.X25519, otherPublic.Span, KeyBlobFormat.RawPublicKey, out var peer) || peer is null)
        {
            return null;
        }

        using var shared = KeyAgreementAlgorithm.X25519.Agree(privateKey, peer);
        if (shared is null)
        {
            return null;
        }

        Span<byte> info = stackalloc byte[InfoLabel.Length + (2 * RelayProtocol.KeyLength)];
        InfoLabel.CopyTo(info);
        clientPublic.Value.CopyTo(info[InfoLabel.Length..]);
        serverPublic.Value.CopyTo(info[(InfoLabel.Length + RelayProtocol.KeyLength)..]);
        return KeyDerivationAlgorithm.HkdfSha256.DeriveKey(shared, challenge, info, Aead);
    }
}
