using Meshwire.Core;
using Meshwire.Relay.Frames;
using NSec.Cryptography;

namespace Meshwire.Relay.Tests;

public sealed class ClientProofTests
{
    private static readonly byte[] Challenge = Enumerable.Range(0, 32).Select(i => (byte)(i * 3)).ToArray();

    private static (Key ServerPrivate, RelayPublicKey ServerPublic) Server()
    {
        var key = RelayKeys.GenerateServerKey();
        return (RelayKeys.ImportPrivate(key.Value), RelayKeys.PublicKeyOf(key));
    }

    private static byte[] Payload(NodePrivateKey client, RelayPublicKey server, byte[] challenge, RelayMeshKey? mesh = null)
    {
        var frame = new byte[ClientProof.FrameLength];
        Assert.Equal(frame.Length, ClientProof.WriteClientInfo(frame, client, server, challenge, mesh));
        return frame[RelayProtocol.FrameHeaderLength..];
    }

    [Fact]
    public void TryOpen_ProofFromKeyHolder_YieldsClientKey()
    {
        var (priv, pub) = Server();
        var client = RelayKeys.GenerateNodeKey();
        Assert.True(ClientProof.TryOpen(Payload(client, pub, Challenge), priv, pub, Challenge, out var node, out var mesh));
        Assert.Equal(RelayKeys.PublicKeyOf(client), node);
        Assert.Null(mesh);
    }

    [Fact]
    public void TryOpen_OtherChallenge_False()
    {
        var (priv, pub) = Server();
        var payload = Payload(RelayKeys.GenerateNodeKey(), pub, Challenge);
        var replayed = (byte[])Challenge.Clone();
        replayed[0] ^= 1;
        Assert.False(ClientProof.TryOpen(payload, priv, pub, replayed, out _, out _));
    }

    [Fact]
    public void TryOpen_ClaimedKeyWithoutPrivateKey_False()
    {
        var (priv, pub) = Server();
        var payload = Payload(RelayKeys.GenerateNodeKey(), pub, Challenge);
        RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey()).Value.CopyTo(payload);
        Assert.False(ClientProof.TryOpen(payload, priv, pub, Challenge, out _, out _));
    }

    [Fact]
    public void TryOpen_EveryFlippedByte_False()
    {
        var (priv, pub) = Server();
        var payload = Payload(RelayKeys.GenerateNodeKey(), pub, Challenge);
        for (var i = 0; i < payload.Length; i++)
        {
            var tampered = (byte[])payload.Clone();
            tampered[i] ^= 0x80;
            Assert.False(ClientProof.TryOpen(tampered, priv, pub, Challenge, out _, out _));
        }
    }

    [Fact]
    public void TryOpen_WrongLength_False()
    {
        var (priv, pub) = Server();
        Assert.False(ClientProof.TryOpen(new byte[ClientProof.PayloadLength - 1], priv, pub, Challenge, out _, out _));
        Assert.False(ClientProof.TryOpen(new byte[ClientProof.PayloadLength], priv, pub, Challenge, out _, out _));
    }

    [Fact]
    public void TryOpen_MeshKey_IsCarriedSealed()
    {
        var (priv, pub) = Server();
        var meshKey = new RelayMeshKey(Key32.FromSpan(Enumerable.Repeat((byte)9, 32).ToArray()));
        var payload = Payload(RelayKeys.GenerateNodeKey(), pub, Challenge, meshKey);
        Assert.DoesNotContain(payload.AsSpan().IndexOf(meshKey.Value.Span.ToArray()), new[] { 0, 32, 56 });
        Assert.True(ClientProof.TryOpen(payload, priv, pub, Challenge, out _, out var mesh));
        Assert.Equal(meshKey, mesh);
    }
}
