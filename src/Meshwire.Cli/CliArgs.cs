namespace Meshwire.Cli;

/// <summary>A usage error: the CLI prints it with the verb's usage and exits 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The arguments of one verb, parsed by a small hand parser (no System.CommandLine in the pinned packages):
/// options are "--name VALUE", "--name=VALUE" or a flag; which options a verb takes, and which take values, is
/// declared by the verb; anything else is a <see cref="UsageException"/>. "--" ends the options.
/// </summary>
internal sealed class CliArgs
{
    private readonly Dictionary<string, string?> _options = [];

    private CliArgs(IReadOnlyList<string> positionals) => Positionals = positionals;

    public IReadOnlyList<string> Positionals { get; }

    public static CliArgs Parse(IReadOnlyList<string> args, IReadOnlySet<string> valued, IReadOnlySet<string> flags)
    {
        var positionals = new List<string>();
        var parsed = new CliArgs(positionals);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg == "--")
            {
                positionals.AddRange(args.Skip(i + 1));
                break;
            }

            var declared = valued.Contains(arg) || flags.Contains(arg);
            if (!declared && (arg.Length < 2 || arg[0] != '-' || (arg[1] != '-' && char.IsAsciiDigit(arg[1]))))
            {
                positionals.Add(arg);
                continue;
            }

            var equals = arg.IndexOf('=');
            var name = equals > 0 ? arg[..equals] : arg;
            if (valued.Contains(name))
            {
                var value = equals > 0 ? arg[(equals + 1)..] : i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value");
                if (!parsed._options.TryAdd(name, value))
                {
                    throw new UsageException($"{name} is given twice");
                }
            }
            else if (flags.Contains(name) && equals < 0)
            {
                parsed._options[name] = null;
            }
            else
            {
                throw new UsageException($"unknown option {arg}");
            }
        }

        return parsed;
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Value(string name) => _options.GetValueOrDefault(name);

    public void ExpectPositionals(int min, int max, string what)
    {
        if (Positionals.Count < min)
        {
            throw new UsageException($"missing {what}");
        }

        if (Positionals.Count > max)
        {
            throw new UsageException($"unexpected argument \"{Positionals[max]}\"");
        }
    }
}
