using System.ComponentModel;
using System.Runtime.InteropServices;
using Meshwire.Core;
using Meshwire.Net.Interop;

namespace Meshwire.Net.Udp;

/// <summary>
/// The WireGuard UDP socket: one dual-stack AF_INET6 socket (IPv4 peers as v4-mapped addresses) with batched
/// receive and send (recvmmsg/sendmmsg) over caller-owned <see cref="PacketBatch"/>es.
/// Receivers wait in poll() on the socket and a wake eventfd, so <see cref="Dispose"/> and <see cref="Rebind"/>
/// unblock them: after a rebind they carry on with the new socket, after Dispose they return 0.
/// Each socket generation (fd + wake) is reference counted, so a thread still inside a call on the old socket
/// never touches a closed or reused descriptor.
/// </summary>
public sealed unsafe class UdpTransport : IDisposable
{
    /// <summary>Socket buffer size asked for; wireguard-go uses the same 7 MiB.</summary>
    public const int SocketBufferSize = 7 << 20;

    // Guards replacing _current (Rebind, Dispose) and _firewallMark; the packet path only reads _current.
    private readonly Lock _gate = new();
    private volatile Generation _current;
    private uint _firewallMark;
    private volatile bool _disposed;

    private UdpTransport(Generation generation) => _current = generation;

    /// <summary>The bound UDP port (the kernel's pick when 0 was asked for).</summary>
    public ushort LocalPort => _current.Port;

    public uint FirewallMark
    {
        get
        {
            lock (_gate)
            {
                return _firewallMark;
            }
        }
    }

    /// <summary>Opens and binds the socket on <paramref name="port"/> (0: the kernel picks). Throws Win32Exception with the errno on failure.</summary>
    public static UdpTransport Open(ushort port, uint firewallMark = 0)
    {
        var errno = Generation.TryCreate(port, firewallMark, out var generation);
        if (errno != 0)
        {
            throw new Win32Exception(errno, $"Cannot bind UDP port {port}.");
        }

        return new UdpTransport(generation!) { _firewallMark = firewallMark };
    }

    /// <summary>
    /// Moves to a new port (UAPI listen_port). Returns 0, or a negative errno (-EADDRINUSE when the port is taken)
    /// and keeps the old socket. Blocked receivers move to the new socket.
    /// </summary>
    public int Rebind(ushort port)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var old = _current;
            if (port != 0 && port == old.Port)
            {
                return 0;
            }

            var errno = Generation.TryCreate(port, _firewallMark, out var next);
            if (errno != 0)
            {
                return -errno;
            }

            _current = next!;
            old.Retire();
            return 0;
        }
    }

    /// <summary>Sets SO_MARK (0 clears it) on the socket and on later rebinds. Returns 0 or a negative errno.</summary>
    public int SetFirewallMark(uint mark)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var errno = _current.SetMark(mark);
            if (errno == 0)
            {
                _firewallMark = mark;
            }

            return -errno;
        }
    }

    /// <summary>
    /// Blocks until at least one datagram arrives, then fills up to <c>batch.Count</c> slots (data, Lengths, Endpoints).
    /// Returns the number of datagrams, 0 once the transport is disposed.
    /// </summary>
    public int ReceiveBatch(PacketBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        while (!_disposed)
        {
            var generation = _current;
            if (!generation.TryAcquire())
            {
                continue;
            }

            try
            {
                batch.PrepareReceive(batch.Count);
                var n = Libc.RecvMMsg(generation.Socket.Fd, batch.MessagePointer, (uint)batch.Count, SocketConstants.MSG_DONTWAIT, null);
                if (n > 0)
                {
                    batch.CompleteReceive(n);
                    return n;
                }

                var errno = n < 0 ? Marshal.GetLastPInvokeError() : Errno.EAGAIN;
                if (errno == Errno.EAGAIN)
                {
                    // Woken means disposed or rebound: the loop re-reads _current and _disposed.
                    Waiter.Wait(generation.Socket.Fd, PollEvents.POLLIN, generation.Wake.Handle.Fd);
                }

                // Other errors (EINTR, a queued ICMP error) are per call, not fatal: try again.
            }
            finally
            {
                generation.Release();
            }
        }

        return 0;
    }

    /// <summary>
    /// Sends datagrams 0..count-1 of the batch (Lengths and Endpoints say what and where).
    /// A datagram the kernel refuses (unreachable network, too big) is skipped. Returns how many were sent.
    /// </summary>
    public int SendBatch(PacketBatch batch, int count)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, batch.Count);
        var generation = _current;
        if (_disposed || !generation.TryAcquire())
        {
            return 0;
        }

        try
        {
            batch.PrepareSend(count);
            var sent = 0;
            var next = 0;
            while (next < count)
            {
                var n = Libc.SendMMsg(generation.Socket.Fd, batch.MessagePointer + next, (uint)(count - next), 0);
                if (n > 0)
                {
                    sent += n;
                    next += n;
                    continue;
                }

                if (n < 0 && Marshal.GetLastPInvokeError() == Errno.EINTR)
                {
                    continue;
                }

                // sendmmsg reports an error only for the first message it tried: drop that one and go on.
                next++;
            }

            return sent;
        }
        finally
        {
            generation.Release();
        }
    }

    /// <summary>Sends one datagram; false when the kernel refused it or the transport is disposed.</summary>
    public bool Send(ReadOnlySpan<byte> datagram, EndpointAddress to)
    {
        var generation = _current;
        if (_disposed || !generation.TryAcquire())
        {
            return false;
        }

        try
        {
            EndpointSockAddr.FromEndpoint(to, out var address);
            fixed (byte* p = datagram)
            {
                while (true)
                {
                    var n = Libc.SendTo(generation.Socket.Fd, p, (nuint)datagram.Length, 0, &address, SockAddrIn6.Size);
                    if (n >= 0)
                    {
                        return n == datagram.Length;
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
            generation.Release();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _current.Retire();
        }
    }

    /// <summary>One bound socket and the eventfd that wakes its waiters when it is replaced or closed.</summary>
    private sealed class Generation
    {
        private Generation(FileDescriptorHandle socket, WakeSignal wake, ushort port)
        {
            Socket = socket;
            Wake = wake;
            Port = port;
        }

        public FileDescriptorHandle Socket { get; }

        public WakeSignal Wake { get; }

        public ushort Port { get; }

        /// <summary>Returns 0 and the bound socket, or the errno of the step that failed.</summary>
        public static int TryCreate(ushort port, uint firewallMark, out Generation? generation)
        {
            generation = null;
            var fd = Libc.Socket(SocketConstants.AF_INET6, SocketConstants.SOCK_DGRAM | SocketConstants.SOCK_CLOEXEC, SocketConstants.IPPROTO_UDP);
            if (fd < 0)
            {
                return Marshal.GetLastPInvokeError();
            }

            var socket = new FileDescriptorHandle(fd);
            var errno = Configure(fd, port, firewallMark);
            if (errno != 0)
            {
                socket.Dispose();
                return errno;
            }

            var address = default(SockAddrIn6);
            var length = (uint)SockAddrIn6.Size;
            if (Libc.GetSockName(fd, &address, &length) < 0)
            {
                errno = Marshal.GetLastPInvokeError();
                socket.Dispose();
                return errno;
            }

            generation = new Generation(socket, new WakeSignal(), EndpointSockAddr.ToEndpoint(in address).Port);
            return 0;
        }

        public bool TryAcquire()
        {
            if (!Socket.TryAcquire())
            {
                return false;
            }

            if (!Wake.Handle.TryAcquire())
            {
                Socket.DangerousRelease();
                return false;
            }

            return true;
        }

        public void Release()
        {
            Wake.Handle.DangerousRelease();
            Socket.DangerousRelease();
        }

        public int SetMark(uint mark)
        {
            if (!Socket.TryAcquire())
            {
                return Errno.EBADF;
            }

            try
            {
                return SetOption(Socket.Fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_MARK, (int)mark);
            }
            finally
            {
                Socket.DangerousRelease();
            }
        }

        /// <summary>Wakes every waiter, then closes the fds once the last caller has let go.</summary>
        public void Retire()
        {
            Wake.Signal();
            Socket.Dispose();
            Wake.Dispose();
        }

        private static int Configure(int fd, ushort port, uint firewallMark)
        {
            var errno = SetOption(fd, SocketConstants.IPPROTO_IPV6, SocketConstants.IPV6_V6ONLY, 0);
            if (errno != 0)
            {
                return errno;
            }

            // The FORCE variants pass the rmem_max/wmem_max limits but need CAP_NET_ADMIN; fall back quietly.
            if (SetOption(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, SocketBufferSize) != 0)
            {
                SetOption(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, SocketBufferSize);
            }

            if (SetOption(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, SocketBufferSize) != 0)
            {
                SetOption(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, SocketBufferSize);
            }

            if (firewallMark != 0)
            {
                errno = SetOption(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_MARK, (int)firewallMark);
                if (errno != 0)
                {
                    return errno;
                }
            }

            var address = default(SockAddrIn6);
            EndpointSockAddr.FromEndpoint(EndpointAddress.FromBytes(stackalloc byte[16], port), out address);
            return Libc.Bind(fd, &address, SockAddrIn6.Size) < 0 ? Marshal.GetLastPInvokeError() : 0;
        }

        private static int SetOption(int fd, int level, int name, int value) =>
            Libc.SetSockOpt(fd, level, name, &value, sizeof(int)) < 0 ? Marshal.GetLastPInvokeError() : 0;
    }
}
