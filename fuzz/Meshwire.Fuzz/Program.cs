using Meshwire.Fuzz;

// Meshwire.Fuzz TARGET            runs TARGET under afl-fuzz (SharpFuzz's out-of-process fork server; once when not under afl)
// Meshwire.Fuzz TARGET FILE...    runs each file through TARGET and prints what happened (triage of a finding; use the
//                                 uninstrumented build: instrumented code outside afl has no coverage map to write to)
// Meshwire.Fuzz --list            prints the target names, one a line (uninstrumented build, as above)
// Meshwire.Fuzz --seed DIR        writes every target's seed corpus into DIR/TARGET/ (how fuzz/corpus was made)
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.Error.WriteLine("usage: Meshwire.Fuzz TARGET [FILE...] | --list | --seed DIR");
    return 2;
}

if (args[0] == "--list")
{
    foreach (var target in FuzzTargets.All)
    {
        Console.WriteLine($"{target.Name}\t{target.Description}");
    }

    return 0;
}

if (args[0] == "--seed")
{
    if (args.Length != 2)
    {
        Console.Error.WriteLine("usage: Meshwire.Fuzz --seed DIR");
        return 2;
    }

    foreach (var target in FuzzTargets.All)
    {
        var directory = Path.Combine(args[1], target.Name);
        Directory.CreateDirectory(directory);
        foreach (var (name, data) in target.Seeds())
        {
            // A seed must pass its own target: a corpus that starts with a crash fuzzes nothing.
            target.Run(data);
            File.WriteAllBytes(Path.Combine(directory, name), data);
        }
    }

    return 0;
}

if (args.Length > 1)
{
    if (FuzzTargets.Find(args[0]) is not { } chosen)
    {
        Console.Error.WriteLine($"Meshwire.Fuzz: no target \"{args[0]}\"; --list shows them");
        return 2;
    }

    var failed = 0;
    foreach (var file in args.Skip(1))
    {
        try
        {
            chosen.Run(File.ReadAllBytes(file));
            Console.WriteLine($"ok    {file}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"CRASH {file}\n{e}");
        }
    }

    return failed == 0 ? 0 : 1;
}

// Instrumented code may run only inside the action, once the fork server has mapped afl's coverage memory: an
// instrumented static constructor run before that writes through a null map. So the target is looked up in there.
var targetName = args[0];
SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
{
    var target = FuzzTargets.Find(targetName) ?? throw new ArgumentException($"no target \"{targetName}\"");
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;
