using System.Xml.Linq;
using Meshwire.IntegrationTests.Lab;

namespace Meshwire.Core.Tests;

/// <summary>
/// Dependencies point downwards only (ARCHITECTURE.md "Solution layout"): Core ← protocol libraries ← Net ← Agent/Control
/// ← CLI and hosts. The protocol libraries stay free of ASP.NET, and the relay never depends on the agent.
/// Read from the project files, which is where a wrong reference would be added.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly string[] ProtocolLibraries =
        ["Meshwire.Core", "Meshwire.WireGuard", "Meshwire.Policy", "Meshwire.Relay", "Meshwire.Protocol", "Meshwire.Paths", "Meshwire.Control.Client"];

    /// <summary>What each library may reference; a library not listed here must be added consciously.</summary>
    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["Meshwire.Core"] = [],
        ["Meshwire.WireGuard"] = ["Meshwire.Core"],
        ["Meshwire.Policy"] = ["Meshwire.Core"],
        ["Meshwire.Relay"] = ["Meshwire.Core", "Meshwire.Protocol"],
        ["Meshwire.Protocol"] = ["Meshwire.Core"],
        ["Meshwire.Paths"] = ["Meshwire.Core", "Meshwire.Protocol", "Meshwire.Relay"],
        ["Meshwire.Net"] = ["Meshwire.Core", "Meshwire.WireGuard"],
        // The node's side of the control channel; the agent links it without the server (ASP.NET Core, EF Core).
        ["Meshwire.Control.Client"] = ["Meshwire.Core", "Meshwire.Protocol", "Meshwire.WireGuard"],
        ["Meshwire.Control"] = ["Meshwire.Core", "Meshwire.Protocol", "Meshwire.WireGuard", "Meshwire.Policy", "Meshwire.Relay", "Meshwire.Net", "Meshwire.Control.Client"],
        ["Meshwire.Agent"] = ["Meshwire.Core", "Meshwire.Protocol", "Meshwire.WireGuard", "Meshwire.Policy", "Meshwire.Relay", "Meshwire.Paths", "Meshwire.Net", "Meshwire.Control.Client"],
        ["Meshwire.Cli"] = ["Meshwire.Core", "Meshwire.Protocol", "Meshwire.Agent"],
    };

    public static TheoryData<string> Libraries()
    {
        var data = new TheoryData<string>();
        foreach (var project in Directory.EnumerateDirectories(Path.Combine(RepositoryRoot, "src"), "Meshwire.*"))
        {
            data.Add(Path.GetFileName(project));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void Library_ReferencesOnlyLayersBelowIt(string library)
    {
        Assert.True(Allowed.TryGetValue(library, out var allowed), $"{library} has no place in the layering yet: add it to ArchitectureTests.Allowed");
        var references = ProjectReferences(library);
        Assert.All(references, reference => Assert.Contains(reference, allowed));
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void ProtocolLibrary_DoesNotReferenceAspNet(string library)
    {
        if (!ProtocolLibraries.Contains(library))
        {
            return;
        }

        var project = LoadProject(library);
        Assert.Equal("Microsoft.NET.Sdk", project.Root!.Attribute("Sdk")?.Value);
        Assert.DoesNotContain(project.Descendants("FrameworkReference"), e => e.Attribute("Include")?.Value == "Microsoft.AspNetCore.App");
        Assert.DoesNotContain(project.Descendants("PackageReference"), e => e.Attribute("Include")?.Value?.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Relay_DoesNotReferenceTheAgent() => Assert.DoesNotContain("Meshwire.Agent", ProjectReferences("Meshwire.Relay"));

    [Fact]
    public void Agent_DoesNotLinkTheControlServer() => Assert.DoesNotContain("Meshwire.Control", ProjectReferences("Meshwire.Agent"));

    private static IReadOnlyList<string> ProjectReferences(string library) =>
        LoadProject(library).Descendants("ProjectReference")
            .Select(e => Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value.Replace('\\', '/')))
            .ToList();

    private static XDocument LoadProject(string library) =>
        XDocument.Load(Path.Combine(RepositoryRoot, "src", library, library + ".csproj"));

    private static string RepositoryRoot => Shell.RepositoryRoot;
}
