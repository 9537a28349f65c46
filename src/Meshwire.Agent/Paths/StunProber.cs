using Meshwire.Core;
using Meshwire.Relay.Stun;

namespace Meshwire.Agent.Paths;

/// <summary>
/// STUN Binding requests sent from the engine's own UDP socket (the one WireGuard and discovery use), so the mapped
/// address learned is the one peers can reach. Responses arrive on the engine's receive thread through
/// <see cref="TryConsume"/>, matched by transaction id; anything STUN-shaped that matches nothing is swallowed too.
/// Guarded by _lock: _pending.
/// </summary>
internal sealed class StunProber(Action<byte[], EndpointAddress> send, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<StunTransactionId, Pending> _pending = [];

    /// <summary>One Binding request with two retries; the mapped address and round trip, or null on timeout.</summary>
    public async Task<(EndpointAddress Mapped, TimeSpan RoundTrip)?> QueryAsync(EndpointAddress server, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var transaction = StunTransactionId.NewRandom();
        var pending = new Pending(time.GetTimestamp());
        lock (_lock)
        {
            _pending[transaction] = pending;
        }

        try
        {
            var buffer = new byte[StunMessage.HeaderLength + 8];
            var request = buffer[..StunMessage.WriteBindingRequest(buffer, transaction)];
            var wait = timeout / 3;
            for (var attempt = 0; attempt < 3; attempt++)
            {
                send(request, server);
                var done = await Task.WhenAny(pending.Done.Task, Task.Delay(wait, time, cancellationToken));
                if (done == pending.Done.Task)
                {
                    return await pending.Done.Task;
                }

                cancellationToken.ThrowIfCancellationRequested();
            }

            return null;
        }
        finally
        {
            lock (_lock)
            {
                _pending.Remove(transaction);
            }
        }
    }

    /// <summary>True when the datagram is STUN (an answer to one of ours or a stray); false leaves it to others.</summary>
    public bool TryConsume(ReadOnlySpan<byte> datagram)
    {
        if (!StunMessage.LooksLikeStun(datagram))
        {
            return false;
        }

        var transaction = StunTransactionId.Read(datagram.Slice(8, StunTransactionId.Length));
        Pending? pending;
        lock (_lock)
        {
            _pending.TryGetValue(transaction, out pending);
        }

        if (pending is not null && StunMessage.TryReadBindingResponse(datagram, transaction, out var mapped) == StunReadStatus.Ok)
        {
            pending.Done.TrySetResult((mapped, time.GetElapsedTime(pending.Started)));
        }

        return true;
    }

    private sealed class Pending(long started)
    {
        public long Started { get; } = started;

        public TaskCompletionSource<(EndpointAddress, TimeSpan)?> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
