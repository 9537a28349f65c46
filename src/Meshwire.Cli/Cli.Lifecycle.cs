using Meshwire.Agent.LocalApi;
using Meshwire.Shared;

namespace Meshwire.Cli;

// up / login, down, logout.
internal sealed partial class Cli
{
    private static readonly IReadOnlySet<string> UpValues = new HashSet<string> { "--login-server", "--authkey", "--authkey-file", "--hostname", "--advertise-tags", "--timeout" };

    /// <summary>
    /// Sends the prefs, then follows the state: prints the login URL once (NeedsLogin), says when an admin must
    /// approve (NeedsMachineAuth), and returns at Running (0), at a refusal (1) or when --timeout passes (1).
    /// </summary>
    private async Task<int> UpAsync(LocalApiClient client, List<string> args, bool login, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, UpValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        var json = parsed.Has("--json");
        TimeSpan? timeout = null;
        if (parsed.Value("--timeout") is { } timeoutText)
        {
            timeout = LocalApiInput.TryParseDuration(timeoutText, TimeSpan.FromDays(1), out var t) ? t : throw new UsageException($"--timeout \"{timeoutText}\" is not a duration (\"30s\", \"500ms\")");
        }

        SecretFile.Secret authKey;
        try
        {
            authKey = SecretFile.Resolve("--authkey", parsed.Value("--authkey"), parsed.Value("--authkey-file"), "MESHWIRE_AUTHKEY", filePrefix: true);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }

        if (authKey.Warning is { } warning)
        {
            stderr.WriteLine($"meshwire {(login ? "login" : "up")}: warning: {warning}");
        }

        var body = new UpBody
        {
            LoginServer = parsed.Value("--login-server"),
            AuthKey = authKey.Value,
            Hostname = parsed.Value("--hostname"),
            AdvertiseTags = parsed.Value("--advertise-tags") is { } tags
                ? [.. tags.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)]
                : null,
        };
        if (body.LoginServer is { } server && !LocalApiInput.TryParseLoginServer(server, out _))
        {
            throw new UsageException($"--login-server \"{server}\" must be an absolute http(s) URL");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } limit)
        {
            deadline.CancelAfter(limit);
        }

        var status = login ? await client.LoginAsync(body, cancellationToken) : await client.UpAsync(body, cancellationToken);
        string? shownUrl = null;
        string? shownError = null;
        var shownApproval = false;
        try
        {
            while (true)
            {
                switch (status.BackendState)
                {
                    case "Running":
                        if (json)
                        {
                            CliJson.Write(stdout, status, CliJson.Api.StatusResponse);
                        }
                        else
                        {
                            stdout.WriteLine($"Running as {status.Self.DnsName ?? status.Self.Name ?? status.Self.Hostname} ({string.Join(", ", status.Self.Addresses)})");
                        }

                        return Ok;
                    case "NeedsLogin" when status.AuthUrl is { } url:
                        if (url != shownUrl)
                        {
                            shownUrl = url;
                            if (json)
                            {
                                CliJson.Write(stdout, status, CliJson.Api.StatusResponse);
                            }
                            else
                            {
                                stdout.WriteLine($"To authenticate, visit:\n\n\t{url}\n");
                            }

                            stdout.Flush();
                        }

                        break;
                    case "NeedsLogin":
                        stderr.WriteLine($"meshwire up: control refused the login: {status.LastError ?? "no reason given"}; get a new auth key (--authkey) or log in again");
                        return Failed;
                    case "NeedsMachineAuth":
                        if (!shownApproval && !json)
                        {
                            shownApproval = true;
                            stdout.WriteLine("Logged in; waiting for an admin to approve this node (meshwire-control nodes approve).");
                        }

                        break;
                    case "Stopped":
                        stderr.WriteLine("meshwire up: meshwired stopped meanwhile (a concurrent down?)");
                        return Failed;
                    default:
                        if (status.LastError is { } error && error != shownError && !json)
                        {
                            shownError = error;
                            stderr.WriteLine($"still trying to reach control: {error}");
                        }

                        break;
                }

                await Task.Delay(UpPoll, deadline.Token);
                status = await client.StatusAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            stderr.WriteLine($"meshwire up: timed out after {timeout}; state {status.BackendState}{(status.LastError is { } e ? $" ({e})" : "")}");
            return Failed;
        }
    }

    private async Task<int> DownAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        var status = await client.DownAsync(cancellationToken);
        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, status, CliJson.Api.StatusResponse);
        }
        else
        {
            stdout.WriteLine("Stopped: left the tailnet; `meshwire up` joins again without a new login.");
        }

        return Ok;
    }

    private async Task<int> LogoutAsync(LocalApiClient client, List<string> args, CancellationToken cancellationToken)
    {
        var parsed = CliArgs.Parse(args, NoValues, JsonOnly);
        parsed.ExpectPositionals(0, 0, "");
        var result = await client.LogoutAsync(cancellationToken);
        if (parsed.Has("--json"))
        {
            CliJson.Write(stdout, result, CliJson.Api.LogoutResponse);
        }
        else
        {
            stdout.WriteLine("Logged out.");
            if (result.Warning is { } warning)
            {
                stderr.WriteLine($"warning: {warning}");
            }
        }

        return Ok;
    }
}
