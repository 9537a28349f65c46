using System.Text;

namespace Meshwire.Control.State;

/// <summary>Turns hostnames into unique DNS labels: lowercase a-z0-9 and '-', at most 63 characters, "-N" on collision.</summary>
internal static class NodeNames
{
    public static string Sanitize(string hostname)
    {
        var sb = new StringBuilder();
        foreach (var c in hostname.ToLowerInvariant())
        {
            if (c is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            {
                sb.Append(c);
            }
            else if (sb.Length > 0 && sb[^1] != '-')
            {
                sb.Append('-');
            }

            if (sb.Length >= 56)
            {
                break;
            }
        }

        var name = sb.ToString().Trim('-');
        return name.Length == 0 ? "node" : name;
    }

    public static string Unique(string wanted, Func<string, bool> taken)
    {
        var name = Sanitize(wanted);
        if (!taken(name))
        {
            return name;
        }

        for (var i = 1; ; i++)
        {
            var candidate = $"{name}-{i}";
            if (!taken(candidate))
            {
                return candidate;
            }
        }
    }
}
