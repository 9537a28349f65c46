using Microsoft.Extensions.Logging;
using Npgsql;

namespace Meshwire.Control.Replication;

/// <summary>
/// One dedicated PostgreSQL connection that LISTENs on <see cref="Channel"/> for the changes other replicas commit.
/// Flow: open → LISTEN → report <see cref="ChangeSet.All"/> (notifications sent while not listening are lost, so
/// the receiver reloads everything) → wait, handing each payload to the sink. A dropped connection (server restart,
/// pg_terminate_backend, network) reconnects with exponential backoff and again reports "all".
/// The sink runs on this loop's thread and must not block (it queues).
/// </summary>
internal sealed partial class ChangeListener : IAsyncDisposable
{
    /// <summary>The NOTIFY channel every replica of one database sends on and listens to.</summary>
    public const string Channel = "meshwire_changes";

    /// <summary>Name of the listening session in pg_stat_activity (application_name), followed by the replica id.</summary>
    public const string ApplicationNamePrefix = "meshwire-listen-";

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    private readonly string _connectionString;
    private readonly Action<string?> _sink;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="sink">Gets each payload, or null after every (re)connect.</param>
    public ChangeListener(string connectionString, string replicaId, Action<string?> sink, ILogger logger)
    {
        // Its own session, never pooled: a terminated backend must not go back to the pool, and KeepAlive makes
        // WaitAsync notice a peer that vanished without closing the connection.
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            KeepAlive = 15,
            ApplicationName = ApplicationNamePrefix + replicaId,
        }.ConnectionString;
        _sink = sink;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var backoff = FirstBackoff;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(_connectionString);
                connection.Notification += (_, e) => _sink(e.Payload);
                await connection.OpenAsync(token);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(token);
                }

                Log.Listening(_logger, Channel);
                backoff = FirstBackoff;
                _sink(null);
                while (true)
                {
                    await connection.WaitAsync(token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or InvalidOperationException)
            {
                Log.Lost(_logger, backoff.TotalMilliseconds, e.Message);
            }

            try
            {
                // Real time, not ControlOptions.Time: this paces reconnects, it is nothing a node sees.
                await Task.Delay(backoff, token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Information, Message = "listening for other replicas' changes on {Channel}")]
        public static partial void Listening(ILogger logger, string channel);

        [LoggerMessage(EventId = 401, Level = LogLevel.Warning, Message = "change listener lost its connection; reconnecting in {DelayMs} ms: {Reason}")]
        public static partial void Lost(ILogger logger, double delayMs, string reason);
    }
}
