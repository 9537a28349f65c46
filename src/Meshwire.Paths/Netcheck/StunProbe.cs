using Meshwire.Core;

namespace Meshwire.Paths.Netcheck;

/// <summary>
/// One STUN Binding exchange the driver made (through <c>StunClient</c>), all from the node's one UDP socket:
/// the relay region and server asked, the mapped address it answered (null: no answer), and the round trip.
/// </summary>
public readonly record struct StunProbe(int RegionId, string Server, EndpointAddress? Mapped, TimeSpan RoundTrip)
{
    public static StunProbe Answered(int regionId, string server, EndpointAddress mapped, TimeSpan roundTrip) => new(regionId, server, mapped, roundTrip);

    public static StunProbe Lost(int regionId, string server) => new(regionId, server, null, default);
}
