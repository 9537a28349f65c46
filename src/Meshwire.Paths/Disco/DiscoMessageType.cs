namespace Meshwire.Paths.Disco;

/// <summary>The first byte of a discovery payload.</summary>
public enum DiscoMessageType : byte
{
    /// <summary>"Do you hear me on this path?" Carries a transaction id and the sender's node key.</summary>
    Ping = 1,

    /// <summary>Answer to a ping: its transaction id and the source address the ping came from.</summary>
    Pong = 2,

    /// <summary>Sent through the relay: "ping me at these endpoints now", so both sides punch at once.</summary>
    CallMeMaybe = 3,
}
