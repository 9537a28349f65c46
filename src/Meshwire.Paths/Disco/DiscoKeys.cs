using System.Security.Cryptography;
using Meshwire.Core;
using NSec.Cryptography;

namespace Meshwire.Paths.Disco;

/// <summary>Disco key generation (X25519 through NSec); a node makes a fresh one at every start.</summary>
public static class DiscoKeys
{
    public static DiscoPrivateKey Generate()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var raw = key.Export(KeyBlobFormat.RawPrivateKey);
        var result = DiscoPrivateKey.FromSpan(raw);
        CryptographicOperations.ZeroMemory(raw);
        return result;
    }

    public static DiscoPublicKey PublicKeyOf(DiscoPrivateKey key)
    {
        using var imported = Import(key);
        return new DiscoPublicKey(Key32.FromSpan(imported.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
    }

    internal static Key Import(DiscoPrivateKey key) =>
        Key.Import(KeyAgreementAlgorithm.X25519, key.Value.Span, KeyBlobFormat.RawPrivateKey);
}
