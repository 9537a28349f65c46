using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Meshwire.Net.Interop;

namespace Meshwire.Net.Tests.Interop;

/// <summary>The kernel reads these structs by C layout; a wrong size or offset corrupts every call.</summary>
public sealed class StructLayoutTests
{
    [Fact]
    public void Sizes_MatchLp64Linux()
    {
        Assert.Equal(8, Unsafe.SizeOf<PollFd>());
        Assert.Equal(40, Unsafe.SizeOf<IfReq>());
        Assert.Equal(SockAddrIn6.Size, Unsafe.SizeOf<SockAddrIn6>());
        Assert.Equal(16, Unsafe.SizeOf<IoVec>());
        Assert.Equal(56, Unsafe.SizeOf<MsgHdr>());
        Assert.Equal(64, Unsafe.SizeOf<MMsgHdr>());
    }

    [Fact]
    public void Offsets_MatchLp64Linux()
    {
        Assert.Equal(8, (int)Marshal.OffsetOf<SockAddrIn6>(nameof(SockAddrIn6.Address)));
        Assert.Equal(24, (int)Marshal.OffsetOf<SockAddrIn6>(nameof(SockAddrIn6.ScopeId)));
        Assert.Equal(16, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Iov)));
        Assert.Equal(48, (int)Marshal.OffsetOf<MsgHdr>(nameof(MsgHdr.Flags)));
        Assert.Equal(56, (int)Marshal.OffsetOf<MMsgHdr>(nameof(MMsgHdr.Length)));
    }
}
