namespace Meshwire.Fuzz.Tests;

/// <summary>
/// Every input kept in the repository runs through the same target code afl-fuzz drives (fuzz/Meshwire.Fuzz): the
/// seed corpus (fuzz/corpus/TARGET) and every input a crash or hang was found with (fuzz/regressions/TARGET). An input
/// fails when its target throws (a contract violation or an undocumented exception) or runs past the time limit.
/// </summary>
public sealed class CorpusReplayTests
{
    /// <summary>Generous for a loaded 2-core machine; the targets take milliseconds, a hang takes forever.</summary>
    private static readonly TimeSpan PerInputLimit = TimeSpan.FromSeconds(20);

    /// <summary>"A few KB per target": the corpus is seeds, not a fuzzer's whole queue.</summary>
    private const int MaxCorpusBytesPerTarget = 16 * 1024;

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var folder in new[] { "corpus", "regressions" })
        {
            var root = Path.Combine(FuzzRoot, folder);
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                if (Path.GetFileName(file).StartsWith('.'))
                {
                    continue;
                }

                var relative = Path.GetRelativePath(FuzzRoot, file);
                data.Add(relative.Split(Path.DirectorySeparatorChar)[1], relative);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Input_RunsThroughItsTarget_WithinTheTimeLimit(string target, string input)
    {
        var fuzzTarget = FuzzTargets.Find(target);
        Assert.True(fuzzTarget is not null, $"{input} lies in a folder named after no target");
        var bytes = File.ReadAllBytes(Path.Combine(FuzzRoot, input));
        var run = Task.Factory.StartNew(() => fuzzTarget.Run(bytes), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            await run.WaitAsync(PerInputLimit);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{input} ran longer than {PerInputLimit.TotalSeconds} s: a hang");
        }
    }

    [Fact]
    public void EveryTarget_HasASmallSeedCorpus()
    {
        foreach (var target in FuzzTargets.All)
        {
            var folder = Path.Combine(FuzzRoot, "corpus", target.Name);
            Assert.True(Directory.Exists(folder), $"no seed corpus for {target.Name}: run `dotnet run --project fuzz/Meshwire.Fuzz -- --seed fuzz/corpus`");
            var files = Directory.GetFiles(folder);
            Assert.NotEmpty(files);
            var size = files.Sum(f => new FileInfo(f).Length);
            Assert.True(size <= MaxCorpusBytesPerTarget, $"the seed corpus of {target.Name} holds {size} bytes; keep it under {MaxCorpusBytesPerTarget}");
        }
    }

    [Fact]
    public void EverySeed_TheWritersMakeToday_PassesItsTarget()
    {
        // The seeds are made by the code's writers; when a writer changes, its new output must still pass.
        foreach (var target in FuzzTargets.All)
        {
            foreach (var (name, data) in target.Seeds())
            {
                var exception = Record.Exception(() => target.Run(data));
                Assert.True(exception is null, $"{target.Name}/{name}: {exception}");
            }
        }
    }

    private static string FuzzRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Meshwire.slnx")))
            {
                dir = dir.Parent;
            }

            return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("Meshwire.slnx not found above the test binaries"), "fuzz");
        }
    }
}
