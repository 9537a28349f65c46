using System.Text.RegularExpressions;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.IntegrationTests;

/// <summary>
/// The systemd units under packaging/systemd start the published programs with flags those programs take: every
/// `--flag` and the verb of each ExecStart line must appear in the program's own --help, so a renamed flag cannot
/// leave a unit that fails at boot.
/// </summary>
public sealed partial class PackagingTests
{
    public static TheoryData<string> Units() =>
        new(Directory.GetFiles(Path.Combine(Shell.RepositoryRoot, "packaging", "systemd"), "*.service").Select(Path.GetFileName).Order()!);

    [Theory]
    [MemberData(nameof(Units))]
    public void SystemdUnit_ExecStart_UsesOnlyFlagsTheProgramTakes(string unit)
    {
        var text = File.ReadAllText(Path.Combine(Shell.RepositoryRoot, "packaging", "systemd", unit));
        foreach (var section in new[] { "[Unit]", "[Service]", "[Install]" })
        {
            Assert.Contains(section, text);
        }

        var execStart = Assert.Single(text.Split('\n'), l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var words = execStart["ExecStart=".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var program = Path.GetFileName(words[0]);
        Assert.Equal(Path.GetFileNameWithoutExtension(unit), program);

        var help = Shell.Run(TimeSpan.FromSeconds(30), null, Shell.Executable(program), "--help");
        var usage = help.Output + help.Error;
        Assert.True(usage.Contains("usage", StringComparison.OrdinalIgnoreCase), $"{program} --help printed no usage: {usage}");
        foreach (var flag in words.Where(w => w.StartsWith("--", StringComparison.Ordinal)))
        {
            Assert.True(FlagPattern(flag).IsMatch(usage), $"{unit}: {program} does not list {flag} in --help:\n{usage}");
        }

        // meshwire-control takes a verb; its unit must run the server, a verb its usage lists.
        if (program == "meshwire-control")
        {
            Assert.Contains("serve", words);
            Assert.Contains("  serve", usage);
        }
    }

    /// <summary>
    /// No unit passes a secret on the command line, which every local user can read in /proc/PID/cmdline for the
    /// life of the service: keys come from credentials or the environment (docs/security.md), and every credential
    /// a command line names under ${CREDENTIALS_DIRECTORY} is one the unit loads.
    /// </summary>
    [Theory]
    [MemberData(nameof(Units))]
    public void SystemdUnit_ExecStart_PassesNoSecretOnTheCommandLine(string unit)
    {
        var lines = File.ReadAllLines(Path.Combine(Shell.RepositoryRoot, "packaging", "systemd", unit));
        var words = lines.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        foreach (var secret in new[] { "--authkey", "--mesh-key", "--oidc-client-secret" })
        {
            Assert.DoesNotContain(secret, words);
        }

        Assert.DoesNotMatch(PasswordInUrl(), string.Join(' ', words));
        var loaded = lines.Where(l => l.StartsWith("LoadCredential=", StringComparison.Ordinal)).Select(l => l["LoadCredential=".Length..].Split(':')[0]).ToHashSet();
        foreach (var word in words.Where(w => w.StartsWith("${CREDENTIALS_DIRECTORY}/", StringComparison.Ordinal)))
        {
            Assert.Contains(word["${CREDENTIALS_DIRECTORY}/".Length..], loaded);
        }
    }

    [GeneratedRegex(@"://[^/\s@:]+:[^/\s@]+@")]
    private static partial Regex PasswordInUrl();

    private static Regex FlagPattern(string flag) => new($@"(^|[\s\[|]){Regex.Escape(flag)}($|[\s\]=,])", RegexOptions.Multiline);
}
