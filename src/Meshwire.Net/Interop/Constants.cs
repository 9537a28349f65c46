namespace Meshwire.Net.Interop;

// Linux values shared by x86-64 and arm64 (asm-generic); the drivers target only those.

/// <summary>errno values (asm-generic/errno-base.h, errno.h).</summary>
internal static class Errno
{
    internal const int EINTR = 4;
    internal const int EIO = 5;
    internal const int EBADF = 9;
    internal const int EAGAIN = 11;
    internal const int ENODEV = 19;
    internal const int EINVAL = 22;
    internal const int EPROTO = 71;
    internal const int EBADFD = 77;
    internal const int EMSGSIZE = 90;
    internal const int EAFNOSUPPORT = 97;
    internal const int EADDRINUSE = 98;
}

internal static class OpenFlags
{
    internal const int O_RDWR = 0x2;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;
}

internal static class FcntlCommands
{
    internal const int F_GETFL = 3;
    internal const int F_SETFL = 4;
}

internal static class PollEvents
{
    internal const short POLLIN = 0x1;
    internal const short POLLOUT = 0x4;
    internal const short POLLERR = 0x8;
    internal const short POLLHUP = 0x10;
    internal const short POLLNVAL = 0x20;
}

internal static class EventFdFlags
{
    internal const int EFD_NONBLOCK = 0x800;
    internal const int EFD_CLOEXEC = 0x80000;
}

/// <summary>Sockets (bits/socket.h, asm-generic/socket.h, netinet/in.h, linux/in6.h).</summary>
internal static class SocketConstants
{
    internal const int AF_INET = 2;
    internal const int AF_INET6 = 10;
    internal const int SOCK_DGRAM = 2;
    internal const int SOCK_NONBLOCK = 0x800;
    internal const int SOCK_CLOEXEC = 0x80000;
    internal const int IPPROTO_UDP = 17;
    internal const int IPPROTO_IPV6 = 41;
    internal const int IPV6_V6ONLY = 26;
    internal const int SOL_SOCKET = 1;
    internal const int SO_SNDBUF = 7;
    internal const int SO_RCVBUF = 8;
    internal const int SO_SNDBUFFORCE = 32;
    internal const int SO_RCVBUFFORCE = 33;
    internal const int SO_MARK = 36;
    internal const int MSG_TRUNC = 0x20;
    internal const int MSG_DONTWAIT = 0x40;
}

/// <summary>TUN and interface ioctls (linux/if_tun.h, linux/sockios.h, linux/if.h).</summary>
internal static class TunConstants
{
    internal const int IFNAMSIZ = 16;
    internal const short IFF_TUN = 0x0001;
    internal const short IFF_MULTI_QUEUE = 0x0100;
    internal const short IFF_NO_PI = 0x1000;

    /// <summary>_IOW('T', 202, int).</summary>
    internal const nuint TUNSETIFF = 0x400454CA;

    internal const nuint SIOCGIFMTU = 0x8921;
    internal const nuint SIOCSIFMTU = 0x8922;
}
