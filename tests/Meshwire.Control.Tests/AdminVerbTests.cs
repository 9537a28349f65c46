using Meshwire.Control.Cli;

namespace Meshwire.Control.Tests;

/// <summary>The admin verbs of meshwire-control against a running server, over its admin socket.</summary>
public sealed class AdminVerbTests
{
    [Fact]
    public async Task RelaysSetThenList_RunningServer_MapHoldsTheRelays()
    {
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        var file = Path.Combine(server.State, "relays.json");
        await File.WriteAllTextAsync(file, """
            [{"regionId": 1, "regionCode": "lab", "regionName": "Lab", "hostName": "relay.lab.internal", "ipv4": "10.0.0.9",
              "port": 8443, "stunPort": 3478, "insecureHttp": true}]
            """);

        var (set, _, setErrors) = await RunAsync("--state", server.State, "relays", "set", file);
        var (list, listed, _) = await RunAsync("--state", server.State, "relays", "list");

        Assert.True(set == ControlProgram.ExitOk, setErrors);
        Assert.Equal(ControlProgram.ExitOk, list);
        Assert.Contains("relay.lab.internal", listed, StringComparison.Ordinal);
        Assert.Contains("plain-http", listed, StringComparison.Ordinal);
        var relay = Assert.Single(await server.Service.ListRelaysAsync());
        Assert.True(relay.InsecureHttp);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""[{"regionId": 0, "regionCode": "", "hostName": "", "port": 0, "stunPort": 0}]""")]
    public async Task RelaysSet_BadFile_FailsWithAMessageAndChangesNothing(string content)
    {
        await using var server = await TestServer.StartAsync(o => o.AdminSocket = true);
        var file = Path.Combine(server.State, "relays.json");
        await File.WriteAllTextAsync(file, content);

        var (exit, _, errors) = await RunAsync("--state", server.State, "relays", "set", file);

        Assert.Equal(ControlProgram.ExitFailed, exit);
        Assert.StartsWith("meshwire-control:", errors, StringComparison.Ordinal);
        Assert.Empty(await server.Service.ListRelaysAsync());
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("help")]
    public async Task Help_PrintsUsageAndSucceeds(string flag)
    {
        var (exit, output, _) = await RunAsync(flag);
        Assert.Equal(ControlProgram.ExitOk, exit);
        Assert.Contains("relays list", output, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Output, string Errors)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exit = await ControlProgram.RunAsync(args, output, errors);
        return (exit, output.ToString(), errors.ToString());
    }
}
