using System.Text;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests;

/// <summary>
/// A JSON null where a wire type declares a value makes the message malformed (found by the control-json fuzz target;
/// the inputs are kept in fuzz/regressions/control-json). Before, the parse succeeded and the null reached the code
/// behind the channel: a register with "tags":[null] tore the channel down.
/// </summary>
public sealed class ProtocolJsonNullTests
{
    private const string Key = "nodekey:0000000000000000000000000000000000000000000000000000000000000000";

    [Theory]
    [InlineData("{\"type\":\"register\",\"nodeKey\":\"" + Key + "\",\"hostname\":\"a\",\"tags\":[null]}", "register.tags[0]")]
    [InlineData("{\"type\":\"register\",\"nodeKey\":\"" + Key + "\",\"hostname\":null}", "register.hostname")]
    [InlineData("{\"type\":\"map\",\"nodeKey\":\"" + Key + "\",\"discoKey\":\"discokey:0000000000000000000000000000000000000000000000000000000000000000\",\"endpoints\":[\"1.2.3.4:5\",null]}", "map.endpoints[1]")]
    [InlineData("{\"type\":\"map-delta\",\"seq\":1,\"peersRemoved\":[null]}", "map-delta.peersRemoved[0]")]
    [InlineData("{\"type\":\"map-delta\",\"seq\":1,\"peersChanged\":[null]}", "map-delta.peersChanged[0]")]
    [InlineData("{\"type\":\"map-delta\",\"seq\":1,\"relayMap\":{\"regions\":[{\"regionId\":1,\"code\":null}]}}", "map-delta.relayMap.regions[0].code")]
    [InlineData("{\"type\":\"error\",\"code\":\"x\",\"message\":null}", "error.message")]
    public void TryDeserialize_NullWhereTheTypeDeclaresAValue_FailsNamingTheField(string json, string path)
    {
        Assert.False(ProtocolJson.TryDeserialize(Encoding.UTF8.GetBytes(json), out var message, out var error));
        Assert.Null(message);
        Assert.Equal($"{path} may not be null", error);
    }

    [Fact]
    public void TryDeserialize_AbsentOptionalFields_StillParse()
    {
        var json = "{\"type\":\"register\",\"nodeKey\":\"" + Key + "\",\"hostname\":\"a\",\"oldNodeKey\":null,\"authKey\":null,\"tags\":null}";
        Assert.True(ProtocolJson.TryDeserialize(Encoding.UTF8.GetBytes(json), out var message, out var error), error);
        Assert.Null(Assert.IsType<RegisterRequest>(message).Tags);
    }
}
