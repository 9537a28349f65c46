using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Meshwire.Core;
using Meshwire.WireGuard.Noise;
using Meshwire.WireGuard.Transport;

namespace Meshwire.Benchmarks.WireGuard;

/// <summary>
/// The per-packet cost of the WireGuard transport: sealing a packet with one keypair and opening it with the mirrored
/// one (ChaCha20-Poly1305 in place, counter, replay window). Allocated must read 0 B: no allocation per packet.
/// </summary>
[MemoryDiagnoser]
public class TransportBenchmarks
{
    private Keypair _sender = null!;
    private Keypair _receiver = null!;
    private byte[] _buffer = null!;
    private byte[] _plaintext = null!;

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
