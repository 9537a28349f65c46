using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Meshwire.Core;
using Meshwire.Net.Interop;

namespace Meshwire.Net.Udp;

/// <summary>
/// A caller-owned set of <see cref="Count"/> packet slots of <see cref="Capacity"/> bytes each, with a length and an
/// endpoint per slot. The buffers and the kernel message headers live on the pinned object heap, so recvmmsg and
/// sendmmsg use them in place with no pinning or allocation per call.
/// Use one batch from one thread at a time (one per receiving or sending thread).
/// </summary>
public sealed unsafe class PacketBatch
{
    private readonly byte[] _data;
    private readonly int[] _lengths;
    private readonly EndpointAddress[] _endpoints;
    private readonly MMsgHdr[] _messages;
    private readonly IoVec[] _iovecs;
    private readonly SockAddrIn6[] _addresses;

    public PacketBatch(int count, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Count = count;
        Capacity = capacity;
        _data = GC.AllocateUninitializedArray<byte>(checked(count * capacity), pinned: true);
        _lengths = new int[count];
        _endpoints = new EndpointAddress[count];
        _messages = GC.AllocateArray<MMsgHdr>(count, pinned: true);
        _iovecs = GC.AllocateArray<IoVec>(count, pinned: true);
        _addresses = GC.AllocateArray<SockAddrIn6>(count, pinned: true);

        var data = DataPointer;
        for (var i = 0; i < count; i++)
        {
            _iovecs[i].Base = data + (i * capacity);
            _messages[i].Header.Iov = IovecPointer + i;
            _messages[i].Header.IovLength = 1;
            _messages[i].Header.Name = AddressPointer + i;
        }
    }

    /// <summary>Number of slots.</summary>
    public int Count { get; }

    /// <summary>Bytes per slot; a received datagram longer than this is dropped (its length reads 0).</summary>
    public int Capacity { get; }

    /// <summary>Per-slot packet lengths: filled by receives, read by sends.</summary>
    public Span<int> Lengths => _lengths;

    /// <summary>Per-slot endpoints: the source after a receive, the destination for a send.</summary>
    public Span<EndpointAddress> Endpoints => _endpoints;

    /// <summary>The whole slot <paramref name="index"/> (Capacity bytes).</summary>
    public Span<byte> Buffer(int index) => _data.AsSpan(index * Capacity, Capacity);

    /// <summary>The first <c>Lengths[index]</c> bytes of slot <paramref name="index"/>.</summary>
    public Span<byte> Packet(int index) => _data.AsSpan(index * Capacity, _lengths[index]);

    internal MMsgHdr* MessagePointer => (MMsgHdr*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_messages));

    private byte* DataPointer => (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_data));

    private IoVec* IovecPointer => (IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_iovecs));

    private SockAddrIn6* AddressPointer => (SockAddrIn6*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_addresses));

    /// <summary>Readies messages [start, start+count) for recvmmsg: full-capacity buffers, room for a sockaddr_in6.</summary>
    internal void PrepareReceive(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _iovecs[i].Length = (nuint)Capacity;
            _messages[i].Header.NameLength = SockAddrIn6.Size;
            _messages[i].Header.Flags = 0;
            _messages[i].Length = 0;
        }
    }

    /// <summary>Reads back what recvmmsg filled into messages [0, count).</summary>
    internal void CompleteReceive(int count)
    {
        for (var i = 0; i < count; i++)
        {
            ref var message = ref _messages[i];
            _lengths[i] = (message.Header.Flags & SocketConstants.MSG_TRUNC) != 0 ? 0 : (int)message.Length;
            _endpoints[i] = EndpointSockAddr.ToEndpoint(in _addresses[i]);
        }
    }

    /// <summary>Readies messages [0, count) for sendmmsg from Lengths and Endpoints.</summary>
    internal void PrepareSend(int count)
    {
        for (var i = 0; i < count; i++)
        {
            _iovecs[i].Length = (nuint)_lengths[i];
            EndpointSockAddr.FromEndpoint(_endpoints[i], out _addresses[i]);
            _messages[i].Header.NameLength = SockAddrIn6.Size;
            _messages[i].Header.Flags = 0;
        }
    }
}
