using BenchmarkDotNet.Running;
using Meshwire.Benchmarks.Control;

// Plain runners (not BenchmarkDotNet: they hold thousands of connections) take a verb; the rest is BenchmarkDotNet.
return args.FirstOrDefault() switch
{
    "control-fanout" => await StreamFanout.RunAsync(args[1..]),
    "control-fanout-clients" => await FanoutClients.RunAsync(args[1..]),
    _ => Run(args),
};

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(StreamFanout).Assembly).Run(args);
    return 0;
}
