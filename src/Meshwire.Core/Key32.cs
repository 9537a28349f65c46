using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Meshwire.Core;

/// <summary>32 bytes stored inline. Storage behind every key type; never crosses an API on its own.</summary>
[InlineArray(Length)]
public struct Bytes32
{
    public const int Length = 32;
    private byte _element0;
}

/// <summary>
/// The 32-byte value shared by every key type (X25519 private and public keys, preshared keys).
/// Equality is constant time. Formatting: lowercase hex (UAPI) or standard base64 (wg, config files).
/// </summary>
public readonly struct Key32 : IEquatable<Key32>
{
    public const int Length = 32;
    private readonly Bytes32 _bytes;

    private Key32(Bytes32 bytes) => _bytes = bytes;

    public static Key32 Zero => default;

    public static Key32 FromSpan(ReadOnlySpan<byte> source)
    {
        if (source.Length != Length)
        {
            throw new ArgumentException($"A key is {Length} bytes, got {source.Length}.", nameof(source));
        }

        var bytes = default(Bytes32);
        source.CopyTo(bytes);
        return new Key32(bytes);
    }

    /// <summary>A read-only view of the bytes; valid as long as the caller's copy of the struct lives.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Span => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _bytes[0]), Length);

    public void CopyTo(Span<byte> destination) => Span.CopyTo(destination);

    public bool IsZero
    {
        get
        {
            var acc = 0;
            foreach (var b in Span)
            {
                acc |= b;
            }

            return acc == 0;
        }
    }

    public bool Equals(Key32 other) => CryptographicOperations.FixedTimeEquals(Span, other.Span);

    public override bool Equals(object? obj) => obj is Key32 other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(Span);

    public static bool operator ==(Key32 left, Key32 right) => left.Equals(right);

    public static bool operator !=(Key32 left, Key32 right) => !left.Equals(right);

    public string ToHex() => Convert.ToHexStringLower(Span);

    public string ToBase64() => Convert.ToBase64String(Span);

    public static bool TryParseHex(ReadOnlySpan<char> text, out Key32 key)
    {
        key = default;
        if (text.Length != Length * 2)
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[Length];
        if (Convert.FromHexString(text, buffer, out _, out var written) != System.Buffers.OperationStatus.Done || written != Length)
        {
            return false;
        }

        key = FromSpan(buffer);
        return true;
    }

    public static bool TryParseBase64(ReadOnlySpan<char> text, out Key32 key)
    {
        key = default;
        if (text.Length != 44 || text[43] != '=')
        {
            return false;
        }

        Span<byte> buffer = stackalloc byte[Length + 1];
        if (!Convert.TryFromBase64Chars(text, buffer, out var written) || written != Length)
        {
            return false;
        }

        key = FromSpan(buffer[..Length]);
        return true;
    }
}
