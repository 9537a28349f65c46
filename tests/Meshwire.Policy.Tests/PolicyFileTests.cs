using System.Text;
using Meshwire.Policy.Commands;

namespace Meshwire.Policy.Tests;

/// <summary>Files given to the policy verbs are read with a bound, as UTF-8 text, whatever they are.</summary>
public sealed class PolicyFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("meshwire-policy-file").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("/dev/zero")]
    [InlineData("/dev/urandom")]
    public void TryRead_EndlessDevice_RefusedAfterTheLimit(string path)
    {
        Assert.False(PolicyFile.TryRead(path, 4096, out _, out var error));
        Assert.Contains("not a regular file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_DevZero_FailsWithoutReadingItAll()
    {
        var output = new StringWriter();

        var code = PolicyCommands.Check("/dev/zero", output);

        Assert.Equal(PolicyCommands.ExitFailed, code);
        Assert.Contains("not a regular file", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_RegularFileOverTheLimit_RefusedAsTooLarge()
    {
        var path = Write("big.hujson", Encoding.UTF8.GetBytes(new string(' ', 4097)));

        Assert.False(PolicyFile.TryRead(path, 4096, out _, out var error));
        Assert.Contains("larger than 4096 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_ExactlyTheLimit_Read()
    {
        var path = Write("limit.hujson", Encoding.UTF8.GetBytes("{}" + new string(' ', 4094)));

        Assert.True(PolicyFile.TryRead(path, 4096, out var text, out _));
        Assert.Equal(4096, text.Length);
    }

    [Fact]
    public void TryRead_Binary_RefusedNamingTheNul()
    {
        var path = Write("binary", [0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]);

        Assert.False(PolicyFile.TryRead(path, 4096, out _, out var error));
        Assert.Contains("NUL byte at offset 6", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_InvalidUtf8_RefusedNamingTheOffset()
    {
        var path = Write("latin1.hujson", [(byte)'{', (byte)'"', 0xe9, (byte)'"', (byte)'}']);

        Assert.False(PolicyFile.TryRead(path, 4096, out _, out var error));
        Assert.Contains("not UTF-8 text (invalid byte at offset 2)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryRead_Utf8WithBom_TextWithoutTheBom()
    {
        var path = Write("bom.hujson", [.. Encoding.UTF8.Preamble, .. "{\"acls\": []}"u8]);

        Assert.True(PolicyFile.TryRead(path, 4096, out var text, out _));
        Assert.Equal("{\"acls\": []}", text);
    }

    [Fact]
    public void TryRead_Missing_CannotRead()
    {
        Assert.False(PolicyFile.TryRead(Path.Combine(_directory, "absent"), 4096, out _, out var error));
        Assert.StartsWith("cannot read the file", error, StringComparison.Ordinal);
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
