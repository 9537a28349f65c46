using System.Net;
using System.Net.Sockets;
using Meshwire.Core;
using Meshwire.Protocol;

namespace Meshwire.Control.Channel;

// Checks of a node's requests that need the channel (its machine key, the server's private key) rather than the
// database: the node key proof and low-order keys. They run before the service sees the request.
internal sealed partial class ChannelHandler
{
    /// <summary>
    /// Refuses a register message whose node key is a low-order point or whose proof of possession is absent or wrong
    /// (docs/protocol.md "Node key proof"). A logout needs no proof: it acts on the channel's machine, whatever key
    /// it names.
    /// </summary>
    private void CheckNodeKey(MachinePublicKey machine, RegisterRequest register)
    {
        if (register.Logout)
        {
            return;
        }

        if (LowOrderPoints.Contains(register.NodeKey.Value))
        {
            throw new ControlException(ErrorCodes.WeakKey, "the node key is a low-order point");
        }

        if (register.NodeKeyProof is not { } proof)
        {
            throw new ControlException(ErrorCodes.NodeKeyProofMissing, "register needs a nodeKeyProof (update meshwired: this server requires proof of the node key)");
        }

        if (!NodeKeyProof.Verify(identity.Local.PrivateKey.Value.Span, identity.PublicKey, machine, register.NodeKey, proof))
        {
            throw new ControlException(ErrorCodes.NodeKeyProofInvalid, "the node key proof does not verify for this node key, machine and server");
        }
    }
}

/// <summary>
/// Checks of a node's messages beyond their shape: keys that are all zero, too many or too long tags, an empty auth
/// key, a negative region. Nulls never get here: ProtocolJson.TryDeserialize refuses a message with a null where the
/// wire type declares a value (ProtocolNulls), and SecureFrames answers it bad_request. Every failure here is a
/// bad_request answer on the channel too, never an exception that ends it.
/// </summary>
internal static class RequestChecks
{
    public const int MaxTags = 64;
    public const int MaxTagLength = 128;

    /// <summary>Null when the message is well formed, else what is wrong with it.</summary>
    public static string? Check(ControlMessage? message) => message switch
    {
        RegisterRequest register => CheckRegister(register),
        MapRequest map => CheckMap(map),
        _ => null,
    };

    private static string? CheckRegister(RegisterRequest register)
    {
        if (register.NodeKey.IsZero)
        {
            return "nodeKey is missing or all zero";
        }

        if (register.Tags is { } tags)
        {
            if (tags.Count > MaxTags)
            {
                return $"at most {MaxTags} tags";
            }

            if (tags.Any(tag => tag.Length > MaxTagLength))
            {
                return $"a tag is at most {MaxTagLength} characters";
            }
        }

        if (register.AuthKey is { Length: 0 })
        {
            return "authKey is empty; omit it to log in interactively";
        }

        return null;
    }

    private static string? CheckMap(MapRequest map)
    {
        if (map.NodeKey.IsZero)
        {
            return "nodeKey is missing or all zero";
        }

        if (map.DiscoKey.Value.IsZero)
        {
            return "discoKey is missing or all zero";
        }

        if (map.HomeRelay < 0)
        {
            return "homeRelay must be 0 (unchanged) or a region id";
        }

        return null;
    }
}
