namespace Meshwire.Cli;

/// <summary>meshwire: the CLI over meshwired's LocalAPI. Exit codes: 0 ok, 1 operation failed, 2 usage, 3 meshwired not running, 4 permission denied on its socket.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        return await new Cli(Console.Out, Console.Error).RunAsync(args, stop.Token);
    }
}
