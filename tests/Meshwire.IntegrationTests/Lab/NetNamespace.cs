using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Meshwire.IntegrationTests.Lab;

/// <summary>
/// A network namespace created (and deleted) by a test. Sockets can be opened inside it from the test process:
/// a dedicated thread enters the namespace with setns(2), creates the socket and leaves; the socket stays bound
/// to the namespace it was created in.
/// </summary>
internal sealed partial class NetNamespace : IDisposable
{
    private const int CloneNewNet = 0x40000000;

    public NetNamespace(string name)
    {
        Name = name;
        Shell.Run("ip", "netns", "add", name).EnsureSuccess($"ip netns add {name}");
        Exec("ip", "link", "set", "lo", "up").EnsureSuccess("lo up");
    }

    public string Name { get; }

    public Shell.Result Exec(string file, params string[] args) => Exec(TimeSpan.FromSeconds(60), file, args);

    public Shell.Result Exec(TimeSpan timeout, string file, params string[] args) =>
        Shell.Run(timeout, null, "ip", ["netns", "exec", Name, file, .. args]);

    /// <summary>Creates a socket inside this namespace.</summary>
    public Socket CreateSocket(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        Socket? socket = null;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var target = File.OpenHandle($"/var/run/netns/{Name}");
                if (SetNs((int)target.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({Name}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                // The thread now lives in the namespace; it ends right after, so the process is unaffected.
                socket = new Socket(family, type, protocol);
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        thread.Start();
        thread.Join();
        return socket ?? throw new InvalidOperationException($"cannot create a socket in {Name}", error);
    }

    public void Dispose() => Shell.Run("ip", "netns", "del", Name);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}
