using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Meshwire.Control.Tests.Oidc;

/// <summary>
/// A real OpenID Connect provider for the login tests: the npm package oidc-provider (version pinned in
/// Oidc/idp/package.json) running Oidc/idp/idp.mjs under node on 127.0.0.1. The first use in a test run does
/// `npm install` into Oidc/idp/node_modules (git-ignored); nodejs and npm must be installed.
/// </summary>
internal sealed class TestIdentityProvider : IAsyncDisposable
{
    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static bool _installed;

    private readonly Process _node;
    private readonly System.Text.StringBuilder _stderr = new();

    private TestIdentityProvider(Process node, int port)
    {
        _node = node;
        Issuer = $"http://127.0.0.1:{port}";
    }

    public string Issuer { get; }

    public string Errors
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Test users: id → (email, email_verified, name).</summary>
    public static readonly Dictionary<string, (string Email, bool Verified, string Name)> Accounts = new()
    {
        ["alice"] = ("alice@allowed.test", true, "Alice"),
        ["bob"] = ("bob@partner.test", true, "Bob"),
        ["mallory"] = ("mallory@other.test", true, "Mallory"),
        ["eve"] = ("eve@allowed.test", false, "Eve"),
    };

    /// <summary>Starts the provider; <see cref="ConfigureAsync"/> then registers the clients.</summary>
    public static async Task<TestIdentityProvider> StartAsync()
    {
        var directory = await EnsureInstalledAsync();
        var start = new ProcessStartInfo("node", ["idp.mjs"])
        {
            WorkingDirectory = directory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        try
        {
            var first = await ReadLineAsync(node);
            var port = JsonNode.Parse(first)!["port"]!.GetValue<int>();
            var idp = new TestIdentityProvider(node, port);
            node.ErrorDataReceived += (_, e) =>
            {
                lock (idp._stderr)
                {
                    idp._stderr.AppendLine(e.Data);
                }
            };
            node.BeginErrorReadLine();
            return idp;
        }
        catch
        {
            node.Kill();
            node.Dispose();
            throw;
        }
    }

    /// <summary>Registers one client: confidential with <paramref name="secret"/>, public (PKCE only) without.</summary>
    public async Task ConfigureAsync(string clientId, string? secret, Uri redirectUri)
    {
        var client = new JsonObject
        {
            ["client_id"] = clientId,
            ["redirect_uris"] = new JsonArray(redirectUri.ToString()),
            ["grant_types"] = new JsonArray("authorization_code"),
            ["response_types"] = new JsonArray("code"),
            ["token_endpoint_auth_method"] = secret is null ? "none" : "client_secret_post",
        };
        if (secret is not null)
        {
            client["client_secret"] = secret;
        }

        var accounts = new JsonObject();
        foreach (var (id, (email, verified, name)) in Accounts)
        {
            accounts[id] = new JsonObject { ["email"] = email, ["email_verified"] = verified, ["name"] = name };
        }

        var config = new JsonObject { ["clients"] = new JsonArray(client), ["accounts"] = accounts };
        await _node.StandardInput.WriteLineAsync(config.ToJsonString());
        await _node.StandardInput.FlushAsync();
        var ready = await ReadLineAsync(_node);
        Assert.True(JsonNode.Parse(ready)!["ready"]!.GetValue<bool>(), $"idp: {ready} {Errors}");
    }

    private static async Task<string> ReadLineAsync(Process node)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var line = await node.StandardOutput.ReadLineAsync(timeout.Token);
        return line ?? throw new InvalidOperationException($"the test identity provider exited: {await node.StandardError.ReadToEndAsync(timeout.Token)}");
    }

    /// <summary>Installs oidc-provider next to idp.mjs once per test run (skipped when already there).</summary>
    private static async Task<string> EnsureInstalledAsync()
    {
        var directory = FindIdpDirectory();
        await InstallLock.WaitAsync();
        try
        {
            if (_installed)
            {
                return directory;
            }

            var wanted = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "package.json")))!["dependencies"]!["oidc-provider"]!.GetValue<string>();
            var installedPackage = Path.Combine(directory, "node_modules", "oidc-provider", "package.json");
            var have = File.Exists(installedPackage) ? JsonNode.Parse(await File.ReadAllTextAsync(installedPackage))!["version"]?.GetValue<string>() : null;
            if (have != wanted)
            {
                var npm = new ProcessStartInfo("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock"])
                {
                    WorkingDirectory = directory,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                using var process = StartOrExplain(npm);
                using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
                var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
                var errors = process.StandardError.ReadToEndAsync(timeout.Token);
                await process.WaitForExitAsync(timeout.Token);
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"npm install in {directory} failed ({process.ExitCode}): {await output}{await errors}");
                }
            }

            _installed = true;
            return directory;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static Process StartOrExplain(ProcessStartInfo start)
    {
        try
        {
            return Process.Start(start) ?? throw new InvalidOperationException($"{start.FileName} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"the OIDC login tests need node and npm (Debian: apt-get install nodejs npm): {e.Message}", e);
        }
    }

    private static string FindIdpDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Meshwire.Control.Tests", "Oidc", "idp");
            if (File.Exists(Path.Combine(candidate, "idp.mjs")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("cannot find tests/Meshwire.Control.Tests/Oidc/idp above the test binaries");
    }

    public async ValueTask DisposeAsync()
    {
        // Closing stdin ends idp.mjs; if it lingers, kill this process (by its handle, i.e. its PID) only.
        try
        {
            _node.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await _node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _node.Kill();
            await _node.WaitForExitAsync();
        }
        finally
        {
            _node.Dispose();
        }
    }
}
