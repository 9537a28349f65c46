using BenchmarkDotNet.Attributes;
using Meshwire.Core;
using Meshwire.Relay;
using Meshwire.Relay.Frames;
using Meshwire.Relay.Stun;

namespace Meshwire.Benchmarks.Relay;

/// <summary>The relay's per-packet CPU outside I/O: encode a SendPacket, decode it, re-encode as RecvPacket; STUN answer.</summary>
[MemoryDiagnoser]
public class RelayFrameBenchmarks
{
    private readonly byte[] _packet = new byte[1400];
    private readonly byte[] _frame = new byte[RelayFrames.SendPacketLength(1400)];
    private readonly byte[] _out = new byte[RelayFrames.SendPacketLength(1400)];
    private readonly byte[] _stunRequest = new byte[28];
    private readonly byte[] _stunResponse = new byte[StunMessage.MaxResponseLength];
    private NodePublicKey _to;
    private NodePublicKey _from;
    private EndpointAddress _source;

    [GlobalSetup]
    public void Setup()
    {
        _to = RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey());
        _from = RelayKeys.PublicKeyOf(RelayKeys.GenerateNodeKey());
        RelayFrames.WriteSendPacket(_frame, _to, _packet);
        StunMessage.WriteBindingRequest(_stunRequest, StunTransactionId.NewRandom());
        _source = EndpointAddress.FromIPEndPoint(System.Net.IPEndPoint.Parse("198.51.100.7:40000"));
    }

    [Benchmark]
    public int EncodeSendPacket() => RelayFrames.WriteSendPacket(_frame, _to, _packet);

    [Benchmark]
    public int DecodeSendPacket()
    {
        FrameReader.TryRead(_frame, out _, out var payload, out var consumed);
        RelayFrames.TryParseKeyAndPacket(payload, out _, out var packet);
        return consumed + packet.Length;
    }

    /// <summary>What the server does per relayed packet: parse SendPacket, write RecvPacket for the destination.</summary>
    [Benchmark]
    public int RelayOnePacket()
    {
        FrameReader.TryRead(_frame, out _, out var payload, out _);
        RelayFrames.TryParseKeyAndPacket(payload, out _, out var packet);
        return RelayFrames.WriteRecvPacket(_out, _from, packet);
    }

    [Benchmark]
    public int StunAnswer() => StunServer.Answer(_stunRequest, _source, _stunResponse);
}
