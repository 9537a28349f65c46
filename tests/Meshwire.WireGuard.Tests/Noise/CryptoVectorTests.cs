using System.Text;
using Meshwire.WireGuard.Crypto;

namespace Meshwire.WireGuard.Tests.Noise;

public sealed class CryptoVectorTests
{
    private static readonly byte[] SunscreenPlaintext = Encoding.ASCII.GetBytes(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");

    private static readonly byte[] Key80To9F = Convert.FromHexString("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");

    private static readonly byte[] SunscreenAad = Convert.FromHexString("50515253c0c1c2c3c4c5c6c7");

    [Fact]
    public void Hash_Abc_MatchesRfc7693AppendixB()
    {
        var digest = new byte[32];
        Blake2s.Hash("abc"u8, digest);
        Assert.Equal("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982", Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void Hash_TwoParts_EqualsHashOfConcatenation()
    {
        var joined = new byte[32];
        var parts = new byte[32];
        Blake2s.Hash("hello world"u8, joined);
        Blake2s.Hash("hello "u8, "world"u8, parts);
        Assert.Equal(joined, parts);
    }

    // hashlib.blake2s(b"abc", key=bytes(range(keyLength)), digest_size=16): 32-byte keys (MAC1, cookie secret)
    // and 16-byte keys (MAC2 keyed by a cookie).
    [Theory]
    [InlineData(32, "61ba5f165c194692e09d12520cc4c74a")]
    [InlineData(16, "75296c2d2c0f51210b383f386bc8b1ff")]
    public void Mac_KeyedAbc_MatchesPythonHashlib(int keyLength, string expected)
    {
        var key = Enumerable.Range(0, keyLength).Select(i => (byte)i).ToArray();
        var mac = new byte[16];
        Blake2s.Mac(key, "abc"u8, mac);
        Assert.Equal(expected, Convert.ToHexStringLower(mac));
    }

    // KDF vectors published with wireguard-go (device/kdf_test.go): key, input, τ1, τ2, τ3.
    [Theory]
    [InlineData("746573742d6b6579", "746573742d696e707574",
        "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
        "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
        "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24")]
    [InlineData("776972656775617264", "776972656775617264",
        "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
        "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
        "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160")]
    [InlineData("", "",
        "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
        "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
        "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e")]
    public void Derive_WireGuardGoVectors_Match(string key, string input, string t1, string t2, string t3)
    {
        var k = Convert.FromHexString(key);
        var i = Convert.FromHexString(input);
        var o1 = new byte[32];
        var o2 = new byte[32];
        var o3 = new byte[32];

        Kdf.Derive3(k, i, o1, o2, o3);
        Assert.Equal(t1, Convert.ToHexStringLower(o1));
        Assert.Equal(t2, Convert.ToHexStringLower(o2));
        Assert.Equal(t3, Convert.ToHexStringLower(o3));

        Kdf.Derive2(k, i, o1, o2);
        Assert.Equal(t1, Convert.ToHexStringLower(o1));
        Assert.Equal(t2, Convert.ToHexStringLower(o2));

        Kdf.Derive1(k, i, o1);
        Assert.Equal(t1, Convert.ToHexStringLower(o1));
    }

    [Fact]
    public void Derive2_OutputAliasesKey_SameAsSeparateBuffers()
    {
        var key = Convert.FromHexString("746573742d6b6579746573742d6b6579746573742d6b6579746573742d6b6579");
        var separate1 = new byte[32];
        var separate2 = new byte[32];
        Kdf.Derive2(key, "input"u8, separate1, separate2);

        var inPlace = (byte[])key.Clone();
        var second = new byte[32];
        Kdf.Derive2(inPlace, "input"u8, inPlace, second);

        Assert.Equal(separate1, inPlace);
        Assert.Equal(separate2, second);
    }

    [Fact]
    public void TrySharedSecret_Rfc7748Section61_MatchesBothWays()
    {
        var alicePrivate = Convert.FromHexString("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        var bobPrivate = Convert.FromHexString("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        var alicePublic = new byte[32];
        var bobPublic = new byte[32];
        Assert.True(X25519.TryPublicKey(alicePrivate, alicePublic));
        Assert.True(X25519.TryPublicKey(bobPrivate, bobPublic));
        Assert.Equal("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", Convert.ToHexStringLower(alicePublic));
        Assert.Equal("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", Convert.ToHexStringLower(bobPublic));

        var shared1 = new byte[32];
        var shared2 = new byte[32];
        Assert.True(X25519.TrySharedSecret(alicePrivate, bobPublic, shared1));
        Assert.True(X25519.TrySharedSecret(bobPrivate, alicePublic, shared2));
        Assert.Equal("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", Convert.ToHexStringLower(shared1));
        Assert.Equal(shared1, shared2);
    }

    [Theory]
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")]
    public void TrySharedSecret_LowOrderPoint_ReturnsFalse(string lowOrderPublic)
    {
        var privateKey = new byte[32];
        X25519.GeneratePrivateKey(privateKey);
        var shared = new byte[32];
        Assert.False(X25519.TrySharedSecret(privateKey, Convert.FromHexString(lowOrderPublic), shared));
    }

    [Fact]
    public void GeneratePrivateKey_Always_Clamped()
    {
        var key = new byte[32];
        for (var i = 0; i < 16; i++)
        {
            X25519.GeneratePrivateKey(key);
            Assert.Equal(0, key[0] & 7);
            Assert.Equal(0x40, key[31] & 0xC0);
        }
    }

    [Fact]
    public void Seal_Rfc8439Section282_MatchesAndOpens()
    {
        var nonce = Convert.FromHexString("070000004041424344454647");
        var sealedBytes = new byte[SunscreenPlaintext.Length + 16];
        Aead.Seal(Key80To9F, nonce, SunscreenPlaintext, SunscreenAad, sealedBytes);
        Assert.Equal(
            "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
            + "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
            + "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691",
            Convert.ToHexStringLower(sealedBytes));

        var opened = new byte[SunscreenPlaintext.Length];
        Assert.True(Aead.TryOpen(Key80To9F, nonce, sealedBytes, SunscreenAad, opened));
        Assert.Equal(SunscreenPlaintext, opened);
    }

    [Fact]
    public void Seal_CounterNonce_IsFourZeroBytesThenLittleEndianCounter()
    {
        var viaCounter = new byte[16 + 5];
        var viaNonce = new byte[16 + 5];
        Aead.Seal(Key80To9F, 0x0807060504030201UL, "hello"u8, "ad"u8, viaCounter);
        Aead.Seal(Key80To9F, Convert.FromHexString("000000000102030405060708"), "hello"u8, "ad"u8, viaNonce);
        Assert.Equal(viaNonce, viaCounter);
    }

    [Fact]
    public void TryOpen_FlippedTag_ReturnsFalse()
    {
        var sealedBytes = new byte[16 + 5];
        Aead.Seal(Key80To9F, 7, "hello"u8, "ad"u8, sealedBytes);
        sealedBytes[^1] ^= 1;
        Assert.False(Aead.TryOpen(Key80To9F, 7, sealedBytes, "ad"u8, new byte[5]));
    }

    [Fact]
    public void XSeal_XChaChaDraftA31_MatchesAndOpens()
    {
        var nonce = Convert.FromHexString("404142434445464748494a4b4c4d4e4f5051525354555657");
        var sealedBytes = new byte[SunscreenPlaintext.Length + 16];
        Aead.XSeal(Key80To9F, nonce, SunscreenPlaintext, SunscreenAad, sealedBytes);
        Assert.Equal(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39"
            + "ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
            + "21f9664c97637da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49",
            Convert.ToHexStringLower(sealedBytes));

        var opened = new byte[SunscreenPlaintext.Length];
        Assert.True(Aead.TryXOpen(Key80To9F, nonce, sealedBytes, SunscreenAad, opened));
        Assert.Equal(SunscreenPlaintext, opened);
    }
}
