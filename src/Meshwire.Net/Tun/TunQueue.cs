using System.Runtime.InteropServices;
using Meshwire.Net.Interop;
using Meshwire.Net.Udp;

namespace Meshwire.Net.Tun;

/// <summary>
/// One queue (file descriptor) of a <see cref="TunDevice"/>. The fd is non-blocking; a read that finds
/// nothing waits in poll() on the fd and the device's wake eventfd, so Dispose unblocks it.
/// Reads and writes allocate nothing and throw nothing.
/// </summary>
public sealed unsafe class TunQueue
{
    private readonly FileDescriptorHandle _handle;
    private TunDevice? _device;

    internal TunQueue(FileDescriptorHandle handle) => _handle = handle;

    /// <summary>
    /// Blocks until one IP packet arrives and copies it into <paramref name="buffer"/>; returns its length.
    /// Returns 0 when the device is being disposed or the interface is gone (then <see cref="TunDevice.Removed"/> has completed).
    /// A packet longer than the buffer is truncated by the kernel, so pass at least MTU bytes.
    /// </summary>
    public int Read(Span<byte> buffer)
    {
        var device = _device!;
        if (device.IsDisposed || !_handle.TryAcquire())
        {
            return 0;
        }

        var wake = device.Wake.Handle;
        if (!wake.TryAcquire())
        {
            _handle.DangerousRelease();
            return 0;
        }

        try
        {
            fixed (byte* p = buffer)
            {
                while (!device.IsDisposed)
                {
                    var n = Libc.Read(_handle.Fd, p, (nuint)buffer.Length);
                    if (n > 0)
                    {
                        return (int)n;
                    }

                    var errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EIO;
                    if (errno == Errno.EINTR)
                    {
                        continue;
                    }

                    if (errno == Errno.EAGAIN)
                    {
                        if (Waiter.Wait(_handle.Fd, PollEvents.POLLIN, wake.Fd) == WaitResult.Ready)
                        {
                            continue;
                        }

                        return 0;
                    }

                    // EBADFD: the interface was deleted and the queue detached; anything else is as fatal.
                    device.MarkRemoved(errno);
                    return 0;
                }

                return 0;
            }
        }
        finally
        {
            wake.DangerousRelease();
            _handle.DangerousRelease();
        }
    }

    /// <summary>
    /// Blocks until at least one packet arrives, then drains what is already queued without blocking, up to the batch size.
    /// Packet i is written at <c>batch.Buffer(i)[offset..]</c> and <c>batch.Lengths[i]</c> is its length (offset excluded),
    /// which leaves room in front for a header written in place. Returns the count, 0 as for <see cref="Read"/>.
    /// </summary>
    public int ReadBatch(PacketBatch batch, int offset = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var first = Read(batch.Buffer(0)[offset..]);
        if (first == 0)
        {
            return 0;
        }

        batch.Lengths[0] = first;
        var count = 1;
        if (!_handle.TryAcquire())
        {
            return count;
        }

        try
        {
            while (count < batch.Count)
            {
                var slot = batch.Buffer(count)[offset..];
                fixed (byte* p = slot)
                {
                    var n = Libc.Read(_handle.Fd, p, (nuint)slot.Length);
                    if (n <= 0)
                    {
                        break;
                    }

                    batch.Lengths[count++] = (int)n;
                }
            }
        }
        finally
        {
            _handle.DangerousRelease();
        }

        return count;
    }

    /// <summary>Injects one IP packet into the kernel; false when the kernel refused it or the device is closed.</summary>
    public bool Write(ReadOnlySpan<byte> packet)
    {
        if (!_handle.TryAcquire())
        {
            return false;
        }

        try
        {
            fixed (byte* p = packet)
            {
                while (true)
                {
                    var n = Libc.Write(_handle.Fd, p, (nuint)packet.Length);
                    if (n >= 0)
                    {
                        return n == packet.Length;
                    }

                    if (Marshal.GetLastPInvokeError() != Errno.EINTR)
                    {
                        return false;
                    }
                }
            }
        }
        finally
        {
            _handle.DangerousRelease();
        }
    }

    /// <summary>Writes packets 0..count-1 of the batch, each at <c>Buffer(i)[offset..]</c> with <c>Lengths[i]</c> bytes; returns how many the kernel took.</summary>
    public int WriteBatch(PacketBatch batch, int count, int offset = 0)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var written = 0;
        for (var i = 0; i < count; i++)
        {
            if (Write(batch.Buffer(i).Slice(offset, batch.Lengths[i])))
            {
                written++;
            }
        }

        return written;
    }

    internal void Attach(TunDevice device) => _device = device;

    internal void Close() => _handle.Dispose();
}
