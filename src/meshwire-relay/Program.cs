using Meshwire.RelayHost;
using Meshwire.Shared;

// meshwire-relay: forwards encrypted packets between nodes by destination key, answers STUN. RAM only.
// Its key file and anything else it creates are owner-only from the start.
SecretFile.RestrictUmask();
if (args is ["--help"] or ["-h"])
{
    Console.WriteLine(RelayHostOptions.Usage);
    return 0;
}

RelayHostOptions options;
try
{
    options = RelayHostOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"meshwire-relay: {e.Message}");
    Console.Error.WriteLine(RelayHostOptions.Usage);
    return 2;
}

// The key now lives in this process only; nothing the relay starts needs it in its environment.
Environment.SetEnvironmentVariable(RelayHostOptions.MeshKeyVariable, null);
foreach (var warning in options.Warnings)
{
    Console.Error.WriteLine($"meshwire-relay: warning: {warning}");
}

await using var host = RelayHostApp.Create(options);
try
{
    await host.StartAsync();
}
catch (IOException e)
{
    Console.Error.WriteLine($"meshwire-relay: cannot listen on {options.Listen}: {e.Message}");
    return 1;
}

Console.WriteLine($"meshwire-relay: {host.Server.PublicKey} listening on {host.Url}" + (host.StunEndPoint is { } stun ? $", STUN on udp {stun}" : ""));
await host.WaitForShutdownAsync();
return 0;
