using System.Runtime.InteropServices;

namespace Meshwire.Agent.Tests;

/// <summary>
/// Runs a function on a fresh thread that first enters a network namespace (setns(2)): TUN devices and sockets it
/// creates belong to that namespace for their whole life, while the rest of the process stays in its own.
/// </summary>
internal static partial class NamespaceThread
{
    private const int CloneNewNet = 0x40000000;

    public static T Run<T>(string namespaceName, Func<T> body)
    {
        T? result = default;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var target = File.OpenHandle($"/var/run/netns/{namespaceName}");
                if (SetNs((int)target.DangerousGetHandle(), CloneNewNet) != 0)
                {
                    throw new InvalidOperationException($"setns({namespaceName}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                result = body();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        thread.Start();
        thread.Join();
        return error is null ? result! : throw new InvalidOperationException($"failed inside {namespaceName}", error);
    }

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNs(int fd, int nstype);
}

/// <summary>A fact that needs root (namespaces, TUN); skipped otherwise.</summary>
internal sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root: creates network namespaces and TUN devices";
        }
    }
}
