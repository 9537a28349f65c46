using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Meshwire.Net.Interop;

/// <summary>
/// An eventfd that, once signalled, stays readable forever: every thread polling it beside its data fd wakes up,
/// now and later. Used to unblock readers on Dispose (and on socket replacement).
/// </summary>
internal sealed unsafe class WakeSignal : IDisposable
{
    private readonly FileDescriptorHandle _handle;

    public WakeSignal()
    {
        var fd = Libc.EventFd(0, EventFdFlags.EFD_CLOEXEC | EventFdFlags.EFD_NONBLOCK);
        if (fd < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        }

        _handle = new FileDescriptorHandle(fd);
    }

    public FileDescriptorHandle Handle => _handle;

    public void Signal()
    {
        if (!_handle.TryAcquire())
        {
            return;
        }

        try
        {
            ulong one = 1;
            Libc.Write(_handle.Fd, (byte*)&one, sizeof(ulong));
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    public void Dispose() => _handle.Dispose();
}

internal enum WaitResult
{
    Ready,
    Woken,
    Failed,
}

internal static unsafe class Waiter
{
    /// <summary>Blocks until <paramref name="fd"/> has <paramref name="events"/> (or an error) or the wake fd fires.</summary>
    public static WaitResult Wait(int fd, short events, int wakeFd)
    {
        var fds = stackalloc PollFd[2];
        while (true)
        {
            fds[0] = new PollFd { Fd = fd, Events = events };
            fds[1] = new PollFd { Fd = wakeFd, Events = PollEvents.POLLIN };
            var n = Libc.Poll(fds, 2, -1);
            if (n < 0)
            {
                if (Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }

                return WaitResult.Failed;
            }

            if (fds[1].Revents != 0)
            {
                return WaitResult.Woken;
            }

            // POLLERR/POLLHUP on the data fd count as ready: the next read or write reports the actual error.
            if (fds[0].Revents != 0)
            {
                return WaitResult.Ready;
            }
        }
    }
}
