using Meshwire.Core;
using Meshwire.WireGuard.Noise;

namespace Meshwire.WireGuard.Device;

/// <summary>
/// The bounded FIFO between the thread that receives datagrams and the handshake worker(s): initiations, responses
/// and cookie replies wait here, so transport packets never wait behind Diffie-Hellman work. A message that finds
/// the queue full is refused (the caller counts the drop); nothing blocks and nothing grows.
/// The queue's depth is also the device's measure of load, as in wireguard-go and the kernel: at
/// <see cref="UnderLoadDepth"/> messages or more the device is under load, and stays so for
/// <see cref="UnderLoadAfter"/> after the depth was last seen that high; under load, handshakes must carry a cookie.
/// Slots are preallocated (one per message, each as large as the largest handshake message); the data is copied in
/// and out under one lock. Sans-I/O: waking a worker is the driver's business, and time comes in as a parameter.
/// </summary>
public sealed class HandshakeQueue
{
    /// <summary>wireguard-go's QueueHandshakeSize.</summary>
    public const int DefaultCapacity = 1024;

    /// <summary>How long the device stays under load once the depth falls (wireguard-go and the kernel use 1 s).</summary>
    public static readonly TimeSpan UnderLoadAfter = TimeSpan.FromSeconds(1);

    private const int SlotSize = MessageSize.Initiation;

    // Guards every field below.
    private readonly Lock _lock = new();
    private readonly byte[] _slots;
    private readonly int[] _lengths;
    private readonly EndpointAddress[] _sources;
    private int _head;
    private int _count;
    private TimeSpan _underLoadUntil;
    private bool _everUnderLoad;

    public HandshakeQueue(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 8);
        Capacity = capacity;
        _slots = new byte[capacity * SlotSize];
        _lengths = new int[capacity];
        _sources = new EndpointAddress[capacity];
    }

    public int Capacity { get; }

    /// <summary>The depth from which the device is under load: an eighth of the capacity (wireguard-go's and the kernel's ratio).</summary>
    public int UnderLoadDepth => Capacity / 8;

    /// <summary>Messages waiting now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Copies a handshake message in. False when the queue is full or the message is larger than any handshake message.</summary>
    public bool TryEnqueue(ReadOnlySpan<byte> message, EndpointAddress source)
    {
        if (message.Length > SlotSize)
        {
            return false;
        }

        lock (_lock)
        {
            if (_count == Capacity)
            {
                return false;
            }

            var slot = (_head + _count) % Capacity;
            message.CopyTo(_slots.AsSpan(slot * SlotSize, SlotSize));
            _lengths[slot] = message.Length;
            _sources[slot] = source;
            _count++;
            return true;
        }
    }

    /// <summary>
    /// Copies the oldest message into <paramref name="destination"/> (at least 148 bytes) and removes it.
    /// False when the queue is empty.
    /// </summary>
    public bool TryDequeue(Span<byte> destination, out int length, out EndpointAddress source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, SlotSize);
        lock (_lock)
        {
            if (_count == 0)
            {
                length = 0;
                source = default;
                return false;
            }

            length = _lengths[_head];
            source = _sources[_head];
            _slots.AsSpan(_head * SlotSize, length).CopyTo(destination);
            _head = (_head + 1) % Capacity;
            _count--;
            return true;
        }
    }

    /// <summary>
    /// True while the depth is at least <see cref="UnderLoadDepth"/>, and for <see cref="UnderLoadAfter"/> after
    /// the last call that saw it so. The worker asks once per message it takes, as the kernel does.
    /// </summary>
    public bool IsUnderLoad(TimeSpan now)
    {
        lock (_lock)
        {
            if (_count >= UnderLoadDepth)
            {
                _underLoadUntil = now + UnderLoadAfter;
                _everUnderLoad = true;
                return true;
            }

            return _everUnderLoad && now < _underLoadUntil;
        }
    }
}
