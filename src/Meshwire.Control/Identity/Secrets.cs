using System.Security.Cryptography;
using System.Text;

namespace Meshwire.Control.Identity;

/// <summary>
/// Bearer secrets (pre-auth keys "mwauth-P-S", API keys "mwapi-P-S"): P is a public 12-hex-digit prefix that finds
/// the row, S 32 random bytes in hex. Only SHA-256 of the whole text is stored; comparison is constant time.
/// A plain hash is enough because S has 256 bits of entropy: nothing to brute force, so no slow KDF is needed.
/// </summary>
internal static class Secrets
{
    public const string AuthKeyKind = "mwauth";
    public const string ApiKeyKind = "mwapi";

    public static (string Text, string Prefix, string Hash) Create(string kind)
    {
        var prefix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var text = $"{kind}-{prefix}-{secret}";
        return (text, prefix, Hash(text));
    }

    /// <summary>Splits "kind-prefix-secret"; false for any other shape (wrong kind, lengths, characters).</summary>
    public static bool TryParse(string? text, string kind, out string prefix)
    {
        prefix = "";
        if (text is null || text.Length != kind.Length + 1 + 12 + 1 + 64 || !text.StartsWith(kind + "-", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = text.AsSpan(kind.Length + 1);
        if (rest[12] != '-' || !IsLowerHex(rest[..12]) || !IsLowerHex(rest[13..]))
        {
            return false;
        }

        prefix = rest[..12].ToString();
        return true;
    }

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    public static bool Matches(string text, string storedHash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(text)), Encoding.ASCII.GetBytes(storedHash));

    private static bool IsLowerHex(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
