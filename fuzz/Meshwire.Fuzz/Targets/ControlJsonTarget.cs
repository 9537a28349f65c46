using System.Collections;
using System.Reflection;
using System.Text;
using Meshwire.Core;
using Meshwire.Protocol;
using static Meshwire.Fuzz.ContractViolation;

namespace Meshwire.Fuzz.Targets;

/// <summary>
/// Control messages as JSON (src/Meshwire.Protocol/ProtocolJson.cs): the input is the JSON of one sealed channel frame.
/// Contract: TryDeserialize never throws; a refusal has an error text and no message; an accepted message keeps the
/// promises of its types (no null where a property or list item is declared non-nullable: the code behind trusts
/// them) and serializes to JSON that parses back and serializes to the same bytes.
/// </summary>
public static class ControlJsonTarget
{
    public static readonly FuzzTarget Target = new("control-json", "control channel messages: ProtocolJson for every message type", Run, Seeds);

    public static void Run(ReadOnlySpan<byte> json)
    {
        var ok = ProtocolJson.TryDeserialize(json, out var message, out var error);
        if (!ok)
        {
            Check(message is null && !string.IsNullOrEmpty(error), "a refusal without an error text, or with a message");
            return;
        }

        Check(message is not null && error is null, "an accepted message is null or has an error");
        CheckNotNull(new NullabilityInfoContext(), message!, message!.GetType().Name, 0);
        var written = ProtocolJson.Serialize(message);
        Check(ProtocolJson.TryDeserialize(written, out var again, out var againError), $"the serialized message is refused: {againError}\n{Encoding.UTF8.GetString(written)}");
        Check(ProtocolJson.Serialize(again!).AsSpan().SequenceEqual(written), "the message does not survive serializing and parsing");
    }

    /// <summary>Walks the wire types (the context is not thread-safe: one per message): every property declared non-nullable holds a value, and so does every item of a list of non-nullable items.</summary>
    internal static void CheckNotNull(NullabilityInfoContext nullability, object value, string path, int depth)
    {
        if (depth > 16)
        {
            return;
        }

        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.DeclaringType == typeof(object) || property.Name == "EqualityContract"
                || property.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is not null)
            {
                continue;
            }

            var info = nullability.Create(property);
            var item = property.GetValue(value);
            var where = $"{path}.{property.Name}";
            if (item is null)
            {
                Check(info.ReadState != NullabilityState.NotNull, $"{where} is null but declared non-nullable");
                continue;
            }

            if (item is string || item.GetType().IsPrimitive || item.GetType().IsValueType)
            {
                continue;
            }

            if (item is IEnumerable list)
            {
                var elementState = info.GenericTypeArguments.Length == 1 ? info.GenericTypeArguments[0].ReadState
                    : info.ElementType?.ReadState ?? NullabilityState.Unknown;
                var i = 0;
                foreach (var element in list)
                {
                    Check(element is not null || elementState != NullabilityState.NotNull, $"{where}[{i}] is null but declared non-nullable");
                    if (element is not null && element is not string && !element.GetType().IsValueType)
                    {
                        CheckNotNull(nullability, element, $"{where}[{i}]", depth + 1);
                    }

                    i++;
                }

                continue;
            }

            CheckNotNull(nullability, item, where, depth + 1);
        }
    }

    private static IEnumerable<(string, byte[])> Seeds()
    {
        var node = new NodePublicKey(Key32.FromSpan(RelayFramesTarget.Fixed(1)));
        var disco = new DiscoPublicKey(Key32.FromSpan(RelayFramesTarget.Fixed(2)));
        var wire = new WireNode
        {
            Id = "n1",
            Name = "laptop",
            NodeKey = node,
            DiscoKey = disco,
            Addresses = ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
            AllowedIps = ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
            Endpoints = ["192.0.2.1:41641"],
            HomeRelay = 1,
            User = "alice@example.com",
            Tags = ["tag:web"],
            Online = true,
            LastSeen = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero),
        };
        var relays = new RelayMap { Regions = [new RelayRegion { RegionId = 1, Code = "par", Name = "Paris", Nodes = [new RelayNode { HostName = "relay.example", IPv4 = "192.0.2.9" }] }] };
        var rule = new WireFilterRule { Sources = ["100.64.0.0/10"], Destinations = [new WireFilterDestination("100.64.0.1/32", 22, 22)], Protocols = [6] };
        ControlMessage[] messages =
        [
            new RegisterRequest { NodeKey = node, Hostname = "laptop", AuthKey = "mwauth-0123", Tags = ["tag:web"] },
            new RegisterResult { Authorized = true, NodeId = "n1", User = "alice@example.com", KeyExpiry = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero) },
            new MapRequest { NodeKey = node, DiscoKey = disco, Endpoints = ["192.0.2.1:41641"], HomeRelay = 1, Stream = true },
            new MapFull { Seq = 1, Self = wire, Peers = [wire with { Id = "n2", Name = "phone" }], RelayMap = relays, Dns = new DnsConfig { Suffix = "mesh.internal" }, PacketFilter = [rule], KeepAliveSeconds = 60 },
            new MapDelta { Seq = 2, PeersChanged = [wire], PeersRemoved = ["n3"], PacketFilter = [], RelayMap = relays },
            new KeepAlive { Seq = 3 },
            new ErrorMessage { Code = ErrorCodes.BadRequest, Message = "malformed message" },
        ];
        foreach (var message in messages)
        {
            var json = ProtocolJson.Serialize(message);
            yield return ($"{message.GetType().Name.ToLowerInvariant()}.json", json);
        }
    }
}
