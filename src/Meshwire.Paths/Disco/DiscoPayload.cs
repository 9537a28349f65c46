using System.Buffers.Binary;
using Meshwire.Core;

namespace Meshwire.Paths.Disco;

/// <summary>
/// The plaintext inside the box: type (1) | version (1) | unix ms (8, big endian) | body.
/// Ping body: tx id (12) | node key (32). Pong body: tx id (12) | address (16) | port (2).
/// CallMeMaybe body: count (1) | count × (address (16) | port (2)). Lengths are exact: nothing may trail.
/// </summary>
internal static class DiscoPayload
{
    public static int LengthOf(in DiscoMessage message) => message.Type switch
    {
        DiscoMessageType.Ping => DiscoConstants.PingPayloadLength,
        DiscoMessageType.Pong => DiscoConstants.PongPayloadLength,
        DiscoMessageType.CallMeMaybe => DiscoConstants.MinCallMeMaybePayloadLength + (message.EndpointCount * DiscoConstants.EndpointLength),
        _ => throw new ArgumentException("Unknown discovery message type.", nameof(message)),
    };

    /// <summary>Writes exactly <see cref="LengthOf"/> bytes.</summary>
    public static void Write(in DiscoMessage message, Span<byte> destination)
    {
        destination[0] = (byte)message.Type;
        destination[1] = DiscoConstants.Version;
        BinaryPrimitives.WriteInt64BigEndian(destination[2..], message.UnixMs);
        var body = destination[DiscoConstants.PayloadHeaderLength..];
        switch (message.Type)
        {
            case DiscoMessageType.Ping:
                message.TxId.Write(body);
                message.NodeKey.Value.CopyTo(body[DiscoConstants.TxIdLength..]);
                break;
            case DiscoMessageType.Pong:
                message.TxId.Write(body);
                WriteEndpoint(message.Source, body[DiscoConstants.TxIdLength..]);
                break;
            default:
                body[0] = (byte)message.EndpointCount;
                var at = 1;
                foreach (var endpoint in message.Endpoints)
                {
                    WriteEndpoint(endpoint, body[at..]);
                    at += DiscoConstants.EndpointLength;
                }

                break;
        }
    }

    public static DiscoReadStatus TryRead(ReadOnlySpan<byte> plaintext, out DiscoMessage message)
    {
        message = default;
        if (plaintext.Length < DiscoConstants.PayloadHeaderLength)
        {
            return DiscoReadStatus.Malformed;
        }

        if (plaintext[1] != DiscoConstants.Version)
        {
            return DiscoReadStatus.UnsupportedVersion;
        }

        var unixMs = BinaryPrimitives.ReadInt64BigEndian(plaintext[2..]);
        var body = plaintext[DiscoConstants.PayloadHeaderLength..];
        switch ((DiscoMessageType)plaintext[0])
        {
            case DiscoMessageType.Ping when plaintext.Length == DiscoConstants.PingPayloadLength:
                message = DiscoMessage.Ping(DiscoTxId.Read(body), NodePublicKey.FromSpan(body.Slice(DiscoConstants.TxIdLength, DiscoConstants.KeyLength)), unixMs);
                return DiscoReadStatus.Ok;
            case DiscoMessageType.Pong when plaintext.Length == DiscoConstants.PongPayloadLength:
                message = DiscoMessage.Pong(DiscoTxId.Read(body), ReadEndpoint(body[DiscoConstants.TxIdLength..]), unixMs);
                return DiscoReadStatus.Ok;
            case DiscoMessageType.CallMeMaybe when body.Length >= 1:
                int count = body[0];
                if (count > DiscoConstants.MaxCallMeMaybeEndpoints || body.Length != 1 + (count * DiscoConstants.EndpointLength))
                {
                    return DiscoReadStatus.Malformed;
                }

                Span<EndpointAddress> endpoints = stackalloc EndpointAddress[DiscoConstants.MaxCallMeMaybeEndpoints];
                for (var i = 0; i < count; i++)
                {
                    endpoints[i] = ReadEndpoint(body[(1 + (i * DiscoConstants.EndpointLength))..]);
                }

                message = DiscoMessage.CallMeMaybe(endpoints[..count], unixMs);
                return DiscoReadStatus.Ok;
            default:
                return DiscoReadStatus.Malformed;
        }
    }

    private static void WriteEndpoint(EndpointAddress endpoint, Span<byte> destination)
    {
        endpoint.WriteAddress16(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[16..], endpoint.Port);
    }

    private static EndpointAddress ReadEndpoint(ReadOnlySpan<byte> source) =>
        EndpointAddress.FromBytes(source[..16], BinaryPrimitives.ReadUInt16BigEndian(source[16..]));
}
