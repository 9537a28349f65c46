using System.Runtime.InteropServices;

namespace Meshwire.Net.Interop;

/// <summary>
/// Owns one file descriptor. Threads blocked on the fd hold a reference (DangerousAddRef), so Dispose
/// never closes a descriptor number another thread is still about to use (and that the kernel could reuse).
/// </summary>
internal sealed class FileDescriptorHandle : SafeHandle
{
    public FileDescriptorHandle(int fd)
        : base(new IntPtr(-1), ownsHandle: true) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle.ToInt64() < 0;

    public int Fd => (int)handle.ToInt64();

    /// <summary>Takes a reference for the duration of a call; false once the handle is closed.</summary>
    public bool TryAcquire()
    {
        var acquired = false;
        try
        {
            DangerousAddRef(ref acquired);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        return acquired;
    }

    protected override bool ReleaseHandle() => Libc.Close(Fd) == 0;
}
