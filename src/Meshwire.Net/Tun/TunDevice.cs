using System.ComponentModel;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Meshwire.Net.Interop;

namespace Meshwire.Net.Tun;

/// <summary>
/// A Linux TUN interface (layer 3, no packet-information header) opened on one or more queues.
/// With several queues the kernel hashes each flow onto one queue, so one reader thread per queue
/// keeps packets of a flow in order.
/// Lifetime: Create → Queue(i).Read/Write from any threads → Dispose (wakes blocked readers, closes the fds,
/// and with them the non-persistent interface). If the interface is deleted underneath (ip link del),
/// reads return 0 and <see cref="Removed"/> completes, so the daemon can exit like wireguard-go does.
/// </summary>
public sealed unsafe class TunDevice : IDisposable
{
    /// <summary>The MTU wireguard-go gives a new interface: 1500 minus the IPv6, UDP and WireGuard overhead.</summary>
    public const int DefaultMtu = 1420;

    private readonly TunQueue[] _queues;
    private readonly WakeSignal _wake;
    private readonly TaskCompletionSource<int> _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _disposed;

    private TunDevice(string name, TunQueue[] queues, WakeSignal wake)
    {
        Name = name;
        _queues = queues;
        _wake = wake;
        foreach (var queue in queues)
        {
            queue.Attach(this);
        }

        IfIndex = (int)IfNameToIndex(name);
    }

    /// <summary>The interface name the kernel gave (the requested one, or the expansion of a "%d" pattern).</summary>
    public string Name { get; }

    public int IfIndex { get; }

    public int QueueCount => _queues.Length;

    /// <summary>Completes with the errno the kernel reported once the interface is gone while the device is still open.</summary>
    public Task<int> Removed => _removed.Task;

    public bool IsRemoved => _removed.Task.IsCompleted;

    internal bool IsDisposed => _disposed;

    internal WakeSignal Wake => _wake;

    /// <summary>Creates (or attaches to) the interface <paramref name="name"/> with <paramref name="queues"/> queues and sets its MTU to <see cref="DefaultMtu"/>.</summary>
    public static TunDevice Create(string name, int queues = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(queues, 1);
        if (Encoding.UTF8.GetByteCount(name) >= TunConstants.IFNAMSIZ)
        {
            throw new ArgumentException($"An interface name is at most {TunConstants.IFNAMSIZ - 1} bytes.", nameof(name));
        }

        var opened = new List<TunQueue>(queues);
        var wake = new WakeSignal();
        var actualName = name;
        try
        {
            for (var i = 0; i < queues; i++)
            {
                var (fd, kernelName) = OpenQueue(actualName, multiQueue: queues > 1);
                actualName = kernelName;
                opened.Add(new TunQueue(new FileDescriptorHandle(fd)));
            }

            var device = new TunDevice(actualName, [.. opened], wake);
            device.Mtu = DefaultMtu;
            return device;
        }
        catch
        {
            foreach (var queue in opened)
            {
                queue.Close();
            }

            wake.Dispose();
            throw;
        }
    }

    public TunQueue Queue(int index) => _queues[index];

    /// <summary>The interface MTU (SIOCGIFMTU/SIOCSIFMTU through an AF_INET datagram socket).</summary>
    public int Mtu
    {
        get
        {
            var request = NewRequest(Name);
            InterfaceIoctl(TunConstants.SIOCGIFMTU, &request);
            return request.Mtu;
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 68);
            var request = NewRequest(Name);
            request.Mtu = value;
            InterfaceIoctl(TunConstants.SIOCSIFMTU, &request);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _wake.Signal();
        foreach (var queue in _queues)
        {
            queue.Close();
        }

        _wake.Dispose();
    }

    internal void MarkRemoved(int errno)
    {
        if (!_disposed)
        {
            _removed.TrySetResult(errno);
        }
    }

    private static (int Fd, string Name) OpenQueue(string name, bool multiQueue)
    {
        var fd = Libc.Open((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference("/dev/net/tun\0"u8)), OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC | OpenFlags.O_NONBLOCK);
        if (fd < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError(), "Cannot open /dev/net/tun (needs CAP_NET_ADMIN and the tun module).");
        }

        var request = NewRequest(name);
        request.Flags = (short)(TunConstants.IFF_TUN | TunConstants.IFF_NO_PI | (multiQueue ? TunConstants.IFF_MULTI_QUEUE : 0));
        if (Libc.Ioctl(fd, TunConstants.TUNSETIFF, &request) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Libc.Close(fd);
            throw new Win32Exception(errno, $"TUNSETIFF {name} failed.");
        }

        return (fd, ReadName(&request));
    }

    private static IfReq NewRequest(string name)
    {
        var request = default(IfReq);
        Encoding.UTF8.GetBytes(name, new Span<byte>(request.Name, TunConstants.IFNAMSIZ - 1));
        return request;
    }

    private static string ReadName(IfReq* request)
    {
        var bytes = new ReadOnlySpan<byte>(request->Name, TunConstants.IFNAMSIZ);
        var end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    private static uint IfNameToIndex(string name)
    {
        var request = NewRequest(name);
        return Libc.IfNameToIndex(request.Name);
    }

    private static void InterfaceIoctl(nuint command, IfReq* request)
    {
        var socket = Libc.Socket(SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM | SocketConstants.SOCK_CLOEXEC, 0);
        if (socket < 0)
        {
            throw new Win32Exception(Marshal.GetLastPInvokeError());
        }

        try
        {
            if (Libc.Ioctl(socket, command, request) < 0)
            {
                throw new Win32Exception(Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            Libc.Close(socket);
        }
    }
}
