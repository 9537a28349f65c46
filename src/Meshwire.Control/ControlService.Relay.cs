using Meshwire.Core;

namespace Meshwire.Control;

public sealed partial class ControlService
{
    /// <summary>
    /// Whether a relay started with --verify-clients may admit this node key: true only for a node of this tailnet that
    /// is approved and whose key has not expired. Answers from the in-memory tailnet; O(nodes), and relays cache answers.
    /// </summary>
    public bool IsActiveNodeKey(NodePublicKey nodeKey)
    {
        var now = _options.Time.GetUtcNow();
        foreach (var node in _tailnet.Snapshot())
        {
            if (node.NodeKey == nodeKey)
            {
                return node.IsActive(now);
            }
        }

        return false;
    }
}
