using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.Control.Channel;

/// <summary>
/// The server's machine key: the responder's static key of every control channel. Kept in
/// StateDirectory/machine.key (hex, mode 0600), created on first start. Several replicas on one PostgreSQL
/// database must share this file.
/// </summary>
internal sealed class ServerIdentity
{
    private ServerIdentity(MachinePrivateKey key)
    {
        Local = new LocalIdentity(new NodePrivateKey(key.Value));
        PublicKey = new MachinePublicKey(Local.PublicKey.Value);
        Cookies = new CookieChecker(Local);
    }

    public LocalIdentity Local { get; }

    public MachinePublicKey PublicKey { get; }

    public CookieChecker Cookies { get; }

    public static ServerIdentity LoadOrCreate(string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, "machine.key");
        if (File.Exists(path))
        {
            if (!Key32.TryParseHex(File.ReadAllText(path).Trim(), out var existing) || existing.IsZero)
            {
                throw new InvalidDataException($"{path} does not hold a 64-hex-digit private key");
            }

            return new ServerIdentity(new MachinePrivateKey(existing));
        }

        var key = X25519Keys.GeneratePrivateKey();
        var temp = path + ".tmp";
        File.WriteAllText(temp, key.Value.ToHex());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, path, overwrite: true);
        return new ServerIdentity(new MachinePrivateKey(key.Value));
    }
}
