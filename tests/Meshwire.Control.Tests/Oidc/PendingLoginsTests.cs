using Meshwire.Control.Identity;
using Meshwire.Core;
using Meshwire.Protocol;

namespace Meshwire.Control.Tests.Oidc;

public sealed class PendingLoginsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly MachinePublicKey Machine = new(Key(1));
    private static readonly NodePublicKey NodeA = new(Key(2));
    private static readonly NodePublicKey NodeB = new(Key(3));

    [Fact]
    public void Begin_SameNodeKeyWhilePending_ReturnsSameToken()
    {
        var logins = new PendingLogins(TimeSpan.FromMinutes(10));

        var first = logins.Begin(Machine, NodeA, "host", T0);
        var second = logins.Begin(Machine, NodeA, "host", T0.AddMinutes(5));

        Assert.Same(first, second);
    }

    [Fact]
    public void Begin_OtherNodeKey_ReplacesAndCancelsOldLogin()
    {
        var logins = new PendingLogins(TimeSpan.FromMinutes(10));
        var first = logins.Begin(Machine, NodeA, "host", T0);

        var second = logins.Begin(Machine, NodeB, "host", T0);

        Assert.NotEqual(first.Token, second.Token);
        Assert.True(first.Completion.Task.IsCanceled);
        Assert.Equal(LoginLookup.Unknown, logins.Find(first.Token, T0, out _));
    }

    [Fact]
    public void Begin_AfterExpiry_IssuesNewToken()
    {
        var logins = new PendingLogins(TimeSpan.FromMinutes(10));
        var first = logins.Begin(Machine, NodeA, "host", T0);

        Assert.Equal(LoginLookup.Expired, logins.Find(first.Token, T0.AddMinutes(10), out _));
        Assert.NotEqual(first.Token, logins.Begin(Machine, NodeA, "host", T0.AddMinutes(10)).Token);
    }

    [Fact]
    public void Begin_Token_Is256RandomBitsBase64Url()
    {
        var token = new PendingLogins(TimeSpan.FromMinutes(10)).Begin(Machine, NodeA, "host", T0).Token;

        Assert.Equal(43, token.Length);
        Assert.All(token, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
    }

    [Fact]
    public async Task Complete_UsedOnce_ResultDeliveredAndTokenGone()
    {
        var logins = new PendingLogins(TimeSpan.FromMinutes(10));
        var login = logins.Begin(Machine, NodeA, "host", T0);

        logins.Complete(login, new RegisterResult { Authorized = true, NodeId = "n1" });

        Assert.Equal("n1", (await login.Completion.Task).NodeId);
        Assert.Equal(LoginLookup.Unknown, logins.Find(login.Token, T0, out _));
        Assert.Null(logins.ForMachine(Machine));
    }

    private static Key32 Key(byte b)
    {
        var bytes = new byte[32];
        bytes[0] = b;
        return Key32.FromSpan(bytes);
    }
}
