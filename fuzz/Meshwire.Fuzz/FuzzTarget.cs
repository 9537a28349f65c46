namespace Meshwire.Fuzz;

/// <summary>Runs one input through a parser and checks its contract; throws <see cref="ContractViolation"/> (or lets an undocumented exception escape) when broken.</summary>
public delegate void FuzzAction(ReadOnlySpan<byte> input);

/// <summary>
/// One fuzz target: a parser that takes bytes from the network or a file, driven through its public entry point,
/// with the contract it promises (what it returns, which exceptions it may throw, what a re-serialization gives).
/// <see cref="Seeds"/> makes the seed corpus (fuzz/corpus/NAME) from the code's own writers.
/// </summary>
public sealed record FuzzTarget(string Name, string Description, FuzzAction Run, Func<IEnumerable<(string Name, byte[] Data)>> Seeds);

/// <summary>A parser broke its contract: afl-fuzz sees the unhandled exception as a crash.</summary>
public sealed class ContractViolation(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new ContractViolation(what);
        }
    }
}
