using System.Security.Cryptography;
using Meshwire.Core;
using Meshwire.Protocol;

namespace Meshwire.Control.Identity;

/// <summary>A node waiting for its user to log in through the browser.</summary>
internal sealed class PendingLogin(string token, MachinePublicKey machine, NodePublicKey nodeKey, string hostname, DateTimeOffset expiresAt)
{
    /// <summary>32 random bytes, base64url: the only thing in the login URL, so the URL names no machine or node.</summary>
    public string Token { get; } = token;

    public MachinePublicKey Machine { get; } = machine;

    public NodePublicKey NodeKey { get; } = nodeKey;

    public string Hostname { get; } = hostname;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;

    /// <summary>Completed with the node's register-result when the login succeeds; channels waiting on it push it.</summary>
    public TaskCompletionSource<RegisterResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>What <see cref="PendingLogins.Find"/> found for a token.</summary>
internal enum LoginLookup
{
    Found,
    Unknown,
    Expired,
}

/// <summary>
/// Login tokens handed out in authUrl, in memory (a restart forgets them; the node registers again and gets a new
/// one). One per machine: registering again with the same node key while a login is pending returns the same token,
/// a different node key replaces it. A token is used once: the successful login removes it.
/// </summary>
internal sealed class PendingLogins(TimeSpan lifetime)
{
    // Beyond this many, expired entries are purged on each Begin; live ones are bounded by the machines that can
    // complete a Noise handshake, and each holds a few hundred bytes.
    private const int PurgeThreshold = 10_000;

    // Guards both maps.
    private readonly Lock _lock = new();
    private readonly Dictionary<string, PendingLogin> _byToken = new(StringComparer.Ordinal);
    private readonly Dictionary<MachinePublicKey, PendingLogin> _byMachine = [];

    public TimeSpan Lifetime { get; } = lifetime;

    public PendingLogin Begin(MachinePublicKey machine, NodePublicKey nodeKey, string hostname, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (_byMachine.TryGetValue(machine, out var existing))
            {
                if (existing.NodeKey == nodeKey && existing.Hostname == hostname && existing.ExpiresAt > now)
                {
                    return existing;
                }

                Remove(existing);
            }

            if (_byToken.Count >= PurgeThreshold)
            {
                foreach (var stale in _byToken.Values.Where(l => l.ExpiresAt <= now).ToList())
                {
                    Remove(stale);
                }
            }

            var login = new PendingLogin(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
                machine, nodeKey, hostname, now + Lifetime);
            _byToken[login.Token] = login;
            _byMachine[machine] = login;
            return login;
        }
    }

    public LoginLookup Find(string? token, DateTimeOffset now, out PendingLogin? login)
    {
        lock (_lock)
        {
            if (token is null || !_byToken.TryGetValue(token, out login))
            {
                login = null;
                return LoginLookup.Unknown;
            }

            return login.ExpiresAt > now ? LoginLookup.Found : LoginLookup.Expired;
        }
    }

    /// <summary>The login a machine is waiting on, if any (a channel subscribes to its completion).</summary>
    public PendingLogin? ForMachine(MachinePublicKey machine)
    {
        lock (_lock)
        {
            return _byMachine.GetValueOrDefault(machine);
        }
    }

    /// <summary>Removes a used login and completes it: waiting channels push <paramref name="result"/>.</summary>
    public void Complete(PendingLogin login, RegisterResult result)
    {
        login.Completion.TrySetResult(result);
        lock (_lock)
        {
            Remove(login);
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byToken.Count;
            }
        }
    }

    private void Remove(PendingLogin login)
    {
        _byToken.Remove(login.Token);
        if (_byMachine.TryGetValue(login.Machine, out var current) && ReferenceEquals(current, login))
        {
            _byMachine.Remove(login.Machine);
        }

        login.Completion.TrySetCanceled();
    }
}
