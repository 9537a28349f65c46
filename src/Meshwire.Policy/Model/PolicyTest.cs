using Meshwire.Policy.HuJson;

namespace Meshwire.Policy.Model;

/// <summary>A "tests" entry: from <see cref="Source"/>, each of Accept must be allowed and each of Deny refused.</summary>
public sealed record PolicyTest(
    int Index,
    TextPosition Position,
    Alias Source,
    ProtocolSet Protocols,
    IReadOnlyList<TestDestination> Accept,
    IReadOnlyList<TestDestination> Deny);

/// <summary>"tag:web:443" in a test: one destination and one port.</summary>
public sealed record TestDestination(Alias Destination, ushort Port, string Text, TextPosition Position);
