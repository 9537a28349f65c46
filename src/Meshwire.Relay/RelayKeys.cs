using System.Security.Cryptography;
using Meshwire.Core;
using NSec.Cryptography;

namespace Meshwire.Relay;

/// <summary>A relay server's X25519 public key: clients seal their key proof to it.</summary>
public readonly record struct RelayPublicKey(Key32 Value)
{
    public const string Prefix = "relaykey:";

    public override string ToString() => Prefix + Value.ToHex();
}

/// <summary>A relay server's X25519 private key; lives in its state directory, never printed.</summary>
public readonly record struct RelayPrivateKey(Key32 Value)
{
    public override string ToString() => "relayprivkey:<redacted>";
}

/// <summary>X25519 key generation through NSec (libsodium); the relay needs no other key code.</summary>
public static class RelayKeys
{
    public static RelayPrivateKey GenerateServerKey() => new(GenerateRaw());

    public static RelayPublicKey PublicKeyOf(RelayPrivateKey key) => new(PublicOf(key.Value));

    public static NodePrivateKey GenerateNodeKey() => new(GenerateRaw());

    public static NodePublicKey PublicKeyOf(NodePrivateKey key) => new(PublicOf(key.Value));

    internal static Key ImportPrivate(Key32 raw) =>
        Key.Import(KeyAgreementAlgorithm.X25519, raw.Span, KeyBlobFormat.RawPrivateKey, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

    private static Key32 GenerateRaw()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var raw = key.Export(KeyBlobFormat.RawPrivateKey);
        var result = Key32.FromSpan(raw);
        CryptographicOperations.ZeroMemory(raw);
        return result;
    }

    private static Key32 PublicOf(Key32 raw)
    {
        using var key = ImportPrivate(raw);
        return Key32.FromSpan(key.PublicKey.Export(KeyBlobFormat.RawPublicKey));
    }
}
