using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Meshwire.Core;

namespace Meshwire.Paths.Disco;

/// <summary>Room for a call-me-maybe's endpoints inside <see cref="DiscoMessage"/>, so reading one allocates nothing.</summary>
[InlineArray(DiscoConstants.MaxCallMeMaybeEndpoints)]
public struct DiscoEndpointBuffer
{
    private EndpointAddress _element0;
}

/// <summary>
/// The sealed payload of one discovery message. Which fields mean something depends on <see cref="Type"/>:
/// Ping: <see cref="TxId"/>, <see cref="NodeKey"/>. Pong: <see cref="TxId"/>, <see cref="Source"/>.
/// CallMeMaybe: <see cref="Endpoints"/>. Every type carries the sender's wall-clock <see cref="UnixMs"/>.
/// </summary>
public readonly struct DiscoMessage
{
    private readonly DiscoEndpointBuffer _endpoints;

    private DiscoMessage(DiscoMessageType type, long unixMs, DiscoTxId txId, NodePublicKey nodeKey, EndpointAddress source, DiscoEndpointBuffer endpoints, int endpointCount)
    {
        Type = type;
        UnixMs = unixMs;
        TxId = txId;
        NodeKey = nodeKey;
        Source = source;
        _endpoints = endpoints;
        EndpointCount = endpointCount;
    }

    public DiscoMessageType Type { get; }

    /// <summary>The sender's clock when it sealed the message (unix milliseconds): the replay check's input.</summary>
    public long UnixMs { get; }

    public DiscoTxId TxId { get; }

    /// <summary>Ping only: the sender's node key, so the receiver can match it with the netmap.</summary>
    public NodePublicKey NodeKey { get; }

    /// <summary>Pong only: the source address the pinged node saw the ping come from (the pinger's mapped address).</summary>
    public EndpointAddress Source { get; }

    public int EndpointCount { get; }

    /// <summary>CallMeMaybe only: the sender's candidate endpoints.</summary>
    [UnscopedRef]
    public ReadOnlySpan<EndpointAddress> Endpoints =>
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.AsRef(in _endpoints[0]), EndpointCount);

    public static DiscoMessage Ping(DiscoTxId txId, NodePublicKey sender, long unixMs) =>
        new(DiscoMessageType.Ping, unixMs, txId, sender, default, default, 0);

    public static DiscoMessage Pong(DiscoTxId txId, EndpointAddress observedSource, long unixMs) =>
        new(DiscoMessageType.Pong, unixMs, txId, default, observedSource, default, 0);

    /// <summary>Endpoints beyond <see cref="DiscoConstants.MaxCallMeMaybeEndpoints"/> are left out.</summary>
    public static DiscoMessage CallMeMaybe(ReadOnlySpan<EndpointAddress> endpoints, long unixMs)
    {
        var buffer = default(DiscoEndpointBuffer);
        var count = Math.Min(endpoints.Length, DiscoConstants.MaxCallMeMaybeEndpoints);
        endpoints[..count].CopyTo(buffer);
        return new DiscoMessage(DiscoMessageType.CallMeMaybe, unixMs, default, default, default, buffer, count);
    }

    public override string ToString() => Type switch
    {
        DiscoMessageType.Ping => $"ping tx={TxId} from {NodeKey}",
        DiscoMessageType.Pong => $"pong tx={TxId} saw {Source}",
        _ => $"call-me-maybe ({EndpointCount} endpoints)",
    };
}
