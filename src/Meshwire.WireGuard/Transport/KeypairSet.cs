namespace Meshwire.WireGuard.Transport;

/// <summary>
/// A peer's three session slots (whitepaper 5.4.6 and 6.1), rotated the way the reference implementations do so that
/// packets still in flight under the old session keep decrypting during a rekey:
/// <list type="bullet">
/// <item><b>Current</b>: the session we send with.</item>
/// <item><b>Previous</b>: the session before it, kept for receiving only until the next rotation.</item>
/// <item><b>Next</b>: a session we derived as responder and may not send with until the initiator proves it holds it
/// by sending its first transport message under it (key confirmation).</item>
/// </list>
/// Transitions:
/// <code>
/// InstallAsInitiator(k), no next:   previous := current, current := k          (old previous dropped)
/// InstallAsInitiator(k), with next: previous := next, current := k, next := -  (old current and previous dropped;
///                                                                               next is newer than current)
/// InstallAsResponder(k):            next := k, previous := -                   (old next and previous dropped)
/// ConfirmNext(next):                previous := current, current := next, next := -  (old previous dropped)
/// Clear():                          all dropped
/// </code>
/// Every keypair that leaves the set is appended to the caller's list so the caller can free its index and dispose it.
/// </summary>
/// <remarks>
/// Reads (the three slots, <see cref="FindByLocalIndex"/>) are lock free and run on packet threads. Mutations take a
/// private lock; <see cref="ConfirmNext"/> is called on the receive path and returns without locking unless the
/// received keypair is actually the pending next one.
/// </remarks>
public sealed class KeypairSet
{
    // Guards every write of the three slots; reads are volatile and unlocked.
    private readonly Lock _lock = new();
    private volatile Keypair? _current;
    private volatile Keypair? _previous;
    private volatile Keypair? _next;

    public Keypair? Current => _current;

    public Keypair? Previous => _previous;

    public Keypair? Next => _next;

    /// <summary>Installs the session we derived as initiator, after consuming the handshake response.</summary>
    public void InstallAsInitiator(Keypair keypair, List<Keypair> dropped)
    {
        ArgumentNullException.ThrowIfNull(keypair);
        lock (_lock)
        {
            var next = _next;
            if (next is not null)
            {
                // The peer may already send under the unconfirmed next session, which is newer than current: keep it.
                _next = null;
                AddIfNotNull(dropped, _previous);
                _previous = next;
                AddIfNotNull(dropped, _current);
            }
            else
            {
                AddIfNotNull(dropped, _previous);
                _previous = _current;
            }

            _current = keypair;
        }
    }

    /// <summary>Installs the session we derived as responder; it waits in <see cref="Next"/> for confirmation.</summary>
    public void InstallAsResponder(Keypair keypair, List<Keypair> dropped)
    {
        ArgumentNullException.ThrowIfNull(keypair);
        lock (_lock)
        {
            AddIfNotNull(dropped, _next);
            _next = keypair;
            AddIfNotNull(dropped, _previous);
            _previous = null;
        }
    }

    /// <summary>
    /// Called after a transport message authenticated under <paramref name="received"/>. If that is the pending next
    /// session, it becomes current and the function returns true (the caller then typically flushes queued packets).
    /// </summary>
    public bool ConfirmNext(Keypair received, List<Keypair> dropped)
    {
        if (!ReferenceEquals(_next, received))
        {
            return false;
        }

        lock (_lock)
        {
            if (!ReferenceEquals(_next, received))
            {
                return false;
            }

            _next = null;
            AddIfNotNull(dropped, _previous);
            _previous = _current;
            _current = received;
            return true;
        }
    }

    /// <summary>Drops every session (peer removed, keys zeroed after 3 * REJECT_AFTER_TIME, new private key).</summary>
    public void Clear(List<Keypair> dropped)
    {
        lock (_lock)
        {
            AddIfNotNull(dropped, _current);
            AddIfNotNull(dropped, _previous);
            AddIfNotNull(dropped, _next);
            _current = null;
            _previous = null;
            _next = null;
        }
    }

    /// <summary>The slot whose local index matches, or null. Lock free and allocation free.</summary>
    public Keypair? FindByLocalIndex(uint index)
    {
        var current = _current;
        if (current is not null && current.LocalIndex == index)
        {
            return current;
        }

        var next = _next;
        if (next is not null && next.LocalIndex == index)
        {
            return next;
        }

        var previous = _previous;
        return previous is not null && previous.LocalIndex == index ? previous : null;
    }

    private static void AddIfNotNull(List<Keypair> dropped, Keypair? keypair)
    {
        if (keypair is not null)
        {
            dropped.Add(keypair);
        }
    }
}
