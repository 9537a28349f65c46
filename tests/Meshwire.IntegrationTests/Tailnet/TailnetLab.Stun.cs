using System.Globalization;

namespace Meshwire.IntegrationTests.Tailnet;

// A second STUN server for netcheck's mapping test: coturn (Debian's turnserver, STUN only) on a second address of
// the server namespace, listed as a second node of relay region 1 (relay connections use a region's first node, so
// it only ever answers STUN). Two STUN servers at two addresses let netcheck tell whether a NAT maps one local port
// to one public address for every destination.
internal sealed partial class TailnetLab
{
    /// <summary>The second STUN server's address (on the lab bridge, below the nodes' range).</summary>
    public const string SecondStunAddress = Subnet + ".2";

    private const string TurnServer = "/usr/bin/turnserver";

    /// <summary>The coturn process, once <see cref="StartSecondStunAsync"/> ran.</summary>
    public LabProcess? SecondStun { get; private set; }

    public static bool HasCoturn => File.Exists(TurnServer);

    /// <summary>Starts coturn on <see cref="SecondStunAddress"/> and puts it into the relay map beside the relay.</summary>
    public async Task StartSecondStunAsync()
    {
        Server.Exec("ip", "addr", "add", $"{SecondStunAddress}/24", "dev", "br0").EnsureSuccess("second STUN address");
        var work = TempDirectory("meshwire-lab-coturn");
        SecondStun = LabProcess.Start("turnserver", Server, TurnServer,
            ["-n", $"--listening-ip={SecondStunAddress}", $"--listening-port={StunPort.ToString(CultureInfo.InvariantCulture)}", "--stun-only",
             "--no-cli", "--no-tls", "--no-dtls", "--simple-log", "--log-file=stdout", $"--userdb={Path.Combine(work, "turndb")}"]);
        await ApiAsync(HttpMethod.Put, "/api/v1/relays", $$"""
            [
              {"regionId": 1, "regionCode": "lab", "regionName": "Lab", "hostName": "{{ServerAddress}}", "ipv4": "{{ServerAddress}}", "port": {{RelayPort}}, "stunPort": {{StunPort}}, "insecureHttp": true},
              {"regionId": 1, "regionCode": "lab", "regionName": "Lab", "hostName": "{{SecondStunAddress}}", "ipv4": "{{SecondStunAddress}}", "port": {{RelayPort}}, "stunPort": {{StunPort}}, "insecureHttp": true}
            ]
            """);
    }
}
