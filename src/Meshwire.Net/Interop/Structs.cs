using System.Runtime.InteropServices;

namespace Meshwire.Net.Interop;

// Kernel ABI structs for LP64 Linux (x86-64, arm64). Field offsets are the C layout; sizes are asserted in tests.

[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short Revents;
}

/// <summary>struct ifreq: a 16-byte name then a 24-byte union (flags, mtu, ...).</summary>
[StructLayout(LayoutKind.Explicit, Size = 40)]
internal unsafe struct IfReq
{
    [FieldOffset(0)]
    public fixed byte Name[TunConstants.IFNAMSIZ];

    [FieldOffset(16)]
    public short Flags;

    [FieldOffset(16)]
    public int Mtu;
}

/// <summary>struct sockaddr_in6 (28 bytes); port and flow info in network order.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockAddrIn6
{
    public const int Size = 28;

    public ushort Family;
    public ushort Port;
    public uint FlowInfo;
    public fixed byte Address[16];
    public uint ScopeId;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct mmsghdr: one message of recvmmsg/sendmmsg plus the byte count the kernel fills in.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MMsgHdr
{
    public MsgHdr Header;
    public uint Length;
}
