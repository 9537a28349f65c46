using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.Benchmarks.WireGuard;

/// <summary>
/// The per-packet cost of the WireGuard transport: sealing a packet with one keypair and opening it with the mirrored
/// one (ChaCha20-Poly1305 in place, counter, replay window). Allocated must read 0 B: no allocation per packet.
/// Baseline: the same seal and open through NSec with its guarded keys, which is how Keypair did it before it kept its
/// keys itself (docs/performance.md): the crypto must not have become slower.
/// </summary>
[MemoryDiagnoser]
public class TransportBenchmarks
{
    private Keypair _sender = null!;
    private Keypair _receiver = null!;
    private byte[] _buffer = null!;
    private byte[] _plaintext = null!;
    private NSec.Cryptography.Key _nsecSend = null!;
    private NSec.Cryptography.Key _nsecReceive = null!;

    [Params(64, 1420)]
    public int PacketSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var a = Key32.FromSpan(RandomNumberGenerator.GetBytes(32));
        var b = Key32.FromSpan(RandomNumberGenerator.GetBytes(32));
        _sender = new Keypair(new SessionKeys(a, b, 1, 2, true), TimeSpan.Zero);
        _receiver = new Keypair(new SessionKeys(b, a, 2, 1, false), TimeSpan.Zero);
        _plaintext = RandomNumberGenerator.GetBytes(PacketSize);
        _buffer = new byte[16 + PacketSize + 32];
        _nsecSend = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305, a.Span, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
        _nsecReceive = NSec.Cryptography.Key.Import(NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305, a.Span, NSec.Cryptography.KeyBlobFormat.RawSymmetricKey);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _sender.Dispose();
        _receiver.Dispose();
        _nsecSend.Dispose();
        _nsecReceive.Dispose();
    }

    [Benchmark(Baseline = true)]
    public bool NSecGuardedKeys_SealThenOpen()
    {
        var aead = NSec.Cryptography.AeadAlgorithm.ChaCha20Poly1305;
        Span<byte> nonce = stackalloc byte[12];
        _plaintext.CopyTo(_buffer, 16);
        var body = _buffer.AsSpan(16, PacketSize + 16);
        aead.Encrypt(_nsecSend, nonce, ReadOnlySpan<byte>.Empty, body[..PacketSize], body);
        return aead.Decrypt(_nsecReceive, nonce, ReadOnlySpan<byte>.Empty, body, body[..PacketSize]);
    }

    [Benchmark]
    public int SealThenOpen()
    {
        _plaintext.CopyTo(_buffer, 16);
        _sender.TryReserveSendCounter(out var counter);
        var length = _sender.Seal(counter, _buffer, PacketSize);
        _receiver.Open(_buffer.AsSpan(0, length), TimeSpan.FromSeconds(1), out var opened);
        return opened;
    }
}
