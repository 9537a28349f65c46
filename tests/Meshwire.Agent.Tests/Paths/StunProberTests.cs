using Meshwire.Agent.Paths;
using Meshwire.Core;
using Meshwire.Relay.Stun;

namespace Meshwire.Agent.Tests.Paths;

/// <summary>STUN through the engine's socket: requests go out through the send delegate, answers come in by TryConsume.</summary>
public sealed class StunProberTests
{
    private static readonly EndpointAddress Server = EndpointAddress.FromBytes([10, 77, 0, 1], 3478);
    private static readonly EndpointAddress Mapped = EndpointAddress.FromBytes([203, 0, 113, 9], 40000);

    [Fact]
    public async Task QueryAsync_AnswerArrives_ReturnsTheMappedAddress()
    {
        StunProber? prober = null;
        prober = new StunProber((request, to) =>
        {
            Assert.Equal(Server, to);
            Assert.Equal(StunReadStatus.Ok, StunMessage.TryReadBindingRequest(request, out var transaction));
            var response = new byte[StunMessage.MaxResponseLength + 64];
            var length = StunMessage.WriteBindingResponse(response, transaction, Mapped);
            Assert.True(prober!.TryConsume(response.AsSpan(0, length)));
        }, TimeProvider.System);

        var answer = await prober.QueryAsync(Server, TimeSpan.FromSeconds(3), CancellationToken.None);

        Assert.NotNull(answer);
        Assert.Equal(Mapped, answer.Value.Mapped);
    }

    [Fact]
    public async Task QueryAsync_NoAnswer_NullAfterThreeTries()
    {
        var sent = 0;
        var prober = new StunProber((_, _) => Interlocked.Increment(ref sent), TimeProvider.System);

        var answer = await prober.QueryAsync(Server, TimeSpan.FromMilliseconds(300), CancellationToken.None);

        Assert.Null(answer);
        Assert.Equal(3, sent);
    }

    [Fact]
    public void TryConsume_NotStun_LeftToOthers_StrayStun_Swallowed()
    {
        var prober = new StunProber((_, _) => { }, TimeProvider.System);
        Assert.False(prober.TryConsume([1, 0, 0, 0, 5, 6, 7, 8]));

        var stray = new byte[StunMessage.MaxResponseLength + 64];
        var length = StunMessage.WriteBindingResponse(stray, StunTransactionId.NewRandom(), Mapped);
        Assert.True(prober.TryConsume(stray.AsSpan(0, length)));
    }
}
