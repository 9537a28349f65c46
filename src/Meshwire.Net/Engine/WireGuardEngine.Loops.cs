using Meshwire.Core;
using Meshwire.Net.Tun;
using Meshwire.Net.Udp;
using Meshwire.WireGuard.Device;

namespace Meshwire.Net.Engine;

public sealed partial class WireGuardEngine
{
    /// <summary>
    /// TUN → seal → UDP. A batch of packets is read (the first read blocks, the rest are what is already queued),
    /// each is sealed in place in its slot, and the sealed datagrams go out with one sendmmsg.
    /// </summary>
    private void OutboundLoop(TunQueue queue)
    {
        var batch = new PacketBatch(BatchSize, BufferSize);
        while (!_stopping.IsCancellationRequested)
        {
            var count = queue.ReadBatch(batch, WireGuardDevice.HeadRoom);
            if (count == 0)
            {
                if (_tun.IsRemoved)
                {
                    _stoppedSource.TrySetResult();
                    return;
                }

                continue;
            }

            var now = Now;
            var ready = 0;
            var gate = Volatile.Read(ref _gate);
            var router = Volatile.Read(ref _router);
            for (var i = 0; i < count; i++)
            {
                gate?.Outbound(batch.Buffer(i).Slice(WireGuardDevice.HeadRoom, batch.Lengths[i]), now);
                var result = _device.EncryptOutbound(batch.Buffer(i), batch.Lengths[i], now);
                if (result.Action != OutboundAction.Send)
                {
                    continue;
                }

                if (ready != i)
                {
                    // Keep sealed datagrams contiguous for sendmmsg; only after a staged or dropped packet.
                    batch.Buffer(i)[..result.Length].CopyTo(batch.Buffer(ready));
                }

                var destination = result.Destination;
                if (router is not null && !router.Route(batch.Buffer(ready)[..result.Length], ref destination))
                {
                    continue;
                }

                batch.Lengths[ready] = result.Length;
                batch.Endpoints[ready] = destination;
                ready++;
            }

            if (ready > 0)
            {
                _udp.SendBatch(batch, ready);
            }
        }
    }

    /// <summary>UDP → open → gate (packet filter) → TUN.</summary>
    private void InboundLoop()
    {
        var batch = new PacketBatch(BatchSize, BufferSize);
        var queue = _tun.Queue(0);
        while (!_stopping.IsCancellationRequested)
        {
            var count = _udp.ReceiveBatch(batch);
            if (count <= 0)
            {
                continue;
            }

            var now = Now;
            var gate = Volatile.Read(ref _gate);
            var router = Volatile.Read(ref _router);
            for (var i = 0; i < count; i++)
            {
                var datagram = batch.Packet(i);
                if (router is not null && router.TryConsume(datagram, batch.Endpoints[i], now))
                {
                    continue;
                }

                Deliver(queue, gate, datagram, batch.Endpoints[i], now);
            }
        }
    }

    /// <summary>Opens one datagram and writes what it carries to TUN if the gate lets it pass.</summary>
    private void Deliver(TunQueue queue, IPacketGate? gate, Span<byte> datagram, EndpointAddress source, TimeSpan now)
    {
        var result = _device.ProcessInbound(datagram, source, now);
        if (result.Action != InboundAction.WriteToTun)
        {
            if (result.Action == InboundAction.HandshakeQueued)
            {
                _handshakeQueued.Set();
            }

            return;
        }

        var packet = datagram.Slice(result.Offset, result.Length);
        if (gate is null || gate.Inbound(packet, now))
        {
            queue.Write(packet);
        }
        else
        {
            Interlocked.Increment(ref _gateDrops);
        }
    }

    /// <summary>
    /// Handshake queue → device (cookie checks, rate limit, Diffie-Hellman) → answers by UDP. The event is reset
    /// before the queue is drained, so a message queued after the last dequeue finds it set and is not missed.
    /// </summary>
    private void HandshakeLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                _handshakeQueued.Wait(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _handshakeQueued.Reset();
            while (!_stopping.IsCancellationRequested && _device.TryProcessQueuedHandshake(Now))
            {
            }
        }
    }

    /// <summary>Runs the protocol timers, and follows MTU changes (ip link set mtu, wg-quick's MTU=) once a second.</summary>
    private void TimerLoop()
    {
        var ticks = 0;
        while (!_stopping.IsCancellationRequested)
        {
            _device.Tick(Now);
            if (++ticks % 10 == 0 && !_tun.IsRemoved)
            {
                try
                {
                    _device.Mtu = _tun.Mtu;
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // The interface went away between the check and the ioctl; the outbound loop notices and stops.
                }
            }

            _stopping.Token.WaitHandle.WaitOne(WireGuardDevice.TickInterval);
        }
    }
}
