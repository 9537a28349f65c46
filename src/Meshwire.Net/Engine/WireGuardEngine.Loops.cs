using Meshwire.Net.Tun;
using Meshwire.Net.Udp;
using Meshwire.WireGuard.Device;

namespace Meshwire.Net.Engine;

public sealed partial class WireGuardEngine
{
    /// <summary>TUN → seal → UDP. Sealed datagrams are gathered and sent with one sendmmsg per batch.</summary>
    private void OutboundLoop(TunQueue queue)
    {
        using var batch = new PacketBatch(BatchSize, BufferSize);
        while (!_stopping.IsCancellationRequested)
        {
            var count = 0;
            // Block for the first packet, then take what is already queued without blocking.
            var length = queue.Read(batch.Buffer(0)[WireGuardDevice.HeadRoom..^WireGuardDevice.TailRoom]);
            while (length > 0)
            {
                var result = _device.EncryptOutbound(batch.Buffer(count), length, Now);
                if (result.Action == OutboundAction.Send)
                {
                    batch.SetLength(count, result.Length);
                    batch.SetEndpoint(count, result.Destination);
                    count++;
                }

                if (count == BatchSize)
                {
                    break;
                }

                length = queue.TryRead(batch.Buffer(count)[WireGuardDevice.HeadRoom..^WireGuardDevice.TailRoom]);
            }

            if (length < 0)
            {
                _stoppedSource.TrySetResult();
                return;
            }

            if (count > 0)
            {
                _udp.SendBatch(batch, count);
            }
        }
    }

    /// <summary>UDP → open → TUN.</summary>
    private void InboundLoop()
    {
        using var batch = new PacketBatch(BatchSize, BufferSize);
        var queue = _tun.Queue(0);
        while (!_stopping.IsCancellationRequested)
        {
            var count = _udp.ReceiveBatch(batch);
            if (count <= 0)
            {
                continue;
            }

            var now = Now;
            for (var i = 0; i < count; i++)
            {
                var datagram = batch.Buffer(i)[..batch.Length(i)];
                var result = _device.ProcessInbound(datagram, batch.Endpoint(i), now);
                if (result.Action == InboundAction.WriteToTun)
                {
                    queue.Write(datagram.Slice(result.Offset, result.Length));
                }
            }
        }
    }

    private void TimerLoop()
    {
        while (!_stopping.IsCancellationRequested)
        {
            _device.Tick(Now);
            _stopping.Token.WaitHandle.WaitOne(WireGuardDevice.TickInterval);
        }
    }
}
