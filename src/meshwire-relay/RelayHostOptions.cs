using System.Globalization;
using System.Net;
using Meshwire.Relay.Frames;
using Meshwire.Shared;

namespace Meshwire.RelayHost;

/// <summary>The command line of meshwire-relay, parsed. Errors say which flag is wrong and what to write instead.</summary>
public sealed record RelayHostOptions
{
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 8443);

    /// <summary>UDP port of the STUN server on the listen address; null disables STUN.</summary>
    public int? StunPort { get; init; } = 3478;

    public Uri? VerifyClients { get; init; }

    public IReadOnlyList<Uri> MeshWith { get; init; } = [];

    public RelayMeshKey? MeshKey { get; init; }

    /// <summary>Where the relay keeps its private key; without it a new key is made on every start.</summary>
    public string? StateDirectory { get; init; }

    public string? CertificatePem { get; init; }

    public string? KeyPem { get; init; }

    public uint RateLimitBytesPerSecond { get; init; }

    public uint RateLimitBurstBytes { get; init; }

    public int SendQueueCapacity { get; init; } = 32;

    /// <summary>What parsing found worth a warning (a secret on the command line); printed once at start.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The environment variable holding the mesh key when neither --mesh-key nor --mesh-key-file is given.</summary>
    public const string MeshKeyVariable = "MESHWIRE_RELAY_MESH_KEY";

    public const string Usage = """
        usage: meshwire-relay --listen ADDR:PORT [options]

          --listen ADDR:PORT        HTTP(S) listen address (default 127.0.0.1:8443)
          --stun-port PORT          STUN (UDP) port on the listen address (default 3478)
          --no-stun                 do not run the STUN server
          --verify-clients URL      admit only nodes the coordination server at URL knows
          --mesh-with URL,URL       other relays of this region to mesh with
          --mesh-key-file PATH      the key shared by the relays of a region (64 hex digits) in a 0600 file, e.g.
                                    a systemd credential; or $MESHWIRE_RELAY_MESH_KEY
          --mesh-key HEX            the same on the command line: visible to every local user, so it warns
          --state-dir DIR           keep the relay's private key in DIR/relay.key (DIR made 0700, the key 0600)
          --cert FILE --key FILE    serve HTTPS with these PEM files (production relays use TLS)
          --rate-limit BYTES/S      per-client send rate (default unlimited)
          --rate-burst BYTES        per-client burst (default one second's worth)
          --queue N                 frames queued per client before drops (default 32)
        """;

    /// <summary>Parses <paramref name="args"/>; <paramref name="environment"/> reads variables (default: the process environment).</summary>
    public static RelayHostOptions Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null)
    {
        var options = new RelayHostOptions();
        string? meshKeyArg = null;
        string? meshKeyFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag} needs a value.");

            // The mesh key has several sources (argv, file, environment): collected here, resolved after the loop.
            if (flag is "--mesh-key" or "--mesh-key-file")
            {
                if (flag == "--mesh-key")
                {
                    meshKeyArg = Value();
                }
                else
                {
                    meshKeyFile = Value();
                }

                continue;
            }

            options = flag switch
            {
                "--listen" => options with { Listen = ParseEndPoint(Value(), flag) },
                "--stun-port" => options with { StunPort = ParsePort(Value(), flag) },
                "--no-stun" => options with { StunPort = null },
                "--verify-clients" => options with { VerifyClients = ParseUrl(Value(), flag) },
                "--mesh-with" => options with { MeshWith = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(u => ParseUrl(u, flag))] },
                "--state-dir" => options with { StateDirectory = Value() },
                "--cert" => options with { CertificatePem = Value() },
                "--key" => options with { KeyPem = Value() },
                "--rate-limit" => options with { RateLimitBytesPerSecond = ParseUInt(Value(), flag) },
                "--rate-burst" => options with { RateLimitBurstBytes = ParseUInt(Value(), flag) },
                "--queue" => options with { SendQueueCapacity = (int)Math.Max(1, ParseUInt(Value(), flag)) },
                _ => throw new ArgumentException($"Unknown option '{flag}'. Run meshwire-relay --help."),
            };
        }

        var meshKey = SecretFile.Resolve("--mesh-key", meshKeyArg, meshKeyFile, MeshKeyVariable, environment: environment);
        if (meshKey.Value is { } hex)
        {
            var from = meshKeyArg is not null ? "--mesh-key" : meshKeyFile is not null ? $"--mesh-key-file {meshKeyFile}" : "$" + MeshKeyVariable;
            options = options with
            {
                MeshKey = RelayMeshKey.TryParse(hex, out var k) ? k : throw new ArgumentException($"{from}: the mesh key is 64 hex digits (generate with: openssl rand -hex 32)."),
                Warnings = meshKey.Warning is { } w ? [w] : [],
            };
        }

        if (options.MeshWith.Count > 0 && options.MeshKey is null)
        {
            throw new ArgumentException($"--mesh-with needs the mesh key (--mesh-key-file PATH or ${MeshKeyVariable}): relays of a region share one key.");
        }

        if ((options.CertificatePem is null) != (options.KeyPem is null))
        {
            throw new ArgumentException("--cert and --key go together.");
        }

        return options;
    }

    private static IPEndPoint ParseEndPoint(string text, string flag) =>
        IPEndPoint.TryParse(text, out var ep) && ep.Port != 0 || text.EndsWith(":0", StringComparison.Ordinal) && IPEndPoint.TryParse(text, out ep)
            ? ep!
            : throw new ArgumentException($"{flag} takes ADDRESS:PORT, e.g. 0.0.0.0:443 or [::]:443.");

    private static int ParsePort(string text, string flag) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535
            ? port
            : throw new ArgumentException($"{flag} takes a port number (0-65535).");

    private static uint ParseUInt(string text, string flag) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"{flag} takes a whole number.");

    private static Uri ParseUrl(string text, string flag) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
            ? url
            : throw new ArgumentException($"{flag} takes an http:// or https:// URL, got '{text}'.");
}
