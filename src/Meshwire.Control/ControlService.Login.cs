using Meshwire.Control.Api;
using Meshwire.Control.Data;
using Meshwire.Control.Identity;
using Meshwire.Core;
using Meshwire.Protocol;
using Microsoft.EntityFrameworkCore;

namespace Meshwire.Control;

// Interactive login. Flow: register without auth key → BeginLogin hands out /login?token=<random> (bound to the
// machine key, node key and hostname, expiring) → the browser logs in at the OIDC provider (Hosting/OidcLogin.cs)
// → CompleteLoginAsync finds or creates the user and registers the node in one transaction → the pending login is
// completed, so channels waiting on it push the register-result, and a node that registers again gets its node.
public sealed partial class ControlService
{
    private PendingLogins? _logins;

    internal PendingLogins Logins => LazyInitializer.EnsureInitialized(ref _logins, () => new PendingLogins(_options.Oidc?.LoginLifetime ?? TimeSpan.FromMinutes(10)));

    private string BeginLogin(MachinePublicKey machine, RegisterRequest request, DateTimeOffset now)
    {
        var login = Logins.Begin(machine, request.NodeKey, request.Hostname, now);
        return $"{(_options.ServerUrl ?? "http://127.0.0.1").TrimEnd('/')}/login?token={login.Token}";
    }

    /// <summary>
    /// Completes the login behind <paramref name="token"/> as <paramref name="identity"/> (already checked against
    /// the allowed domains and users): finds the user by issuer and subject (or adopts a local user of the same
    /// login), else creates it with the email as login; then registers the waiting node key for that user. Approval,
    /// when required, still applies to new nodes. Throws <see cref="ControlException"/> and changes nothing when the
    /// token is unknown, used or expired, or the login or node key belongs to someone else.
    /// </summary>
    internal Task<(RegisterResult Result, UserInfo User)> CompleteLoginAsync(string token, OidcIdentity identity, CancellationToken cancellationToken = default) =>
        WriteAsync(async (db, after) =>
        {
            var now = Now;
            var lookup = Logins.Find(token, now, out var login);
            if (lookup != LoginLookup.Found)
            {
                throw new ControlException(ErrorCodes.NotFound, lookup == LoginLookup.Expired
                    ? "this login link expired; run `meshwire up` again for a new one"
                    : "this login link is unknown or was already used; run `meshwire up` again for a new one");
            }

            var loginName = identity.Email!.ToLowerInvariant();
            var user = await db.Users.SingleOrDefaultAsync(u => u.Provider == identity.Issuer && u.Subject == identity.Subject, cancellationToken);
            if (user is null)
            {
                user = await db.Users.SingleOrDefaultAsync(u => u.Login == loginName, cancellationToken);
                if (user is null)
                {
                    user = new UserRow { Login = loginName, DisplayName = identity.Name ?? loginName, Provider = identity.Issuer, Subject = identity.Subject, CreatedAt = now };
                    db.Users.Add(user);
                }
                else if (user.Provider == "local" && user.Subject.Length == 0)
                {
                    // An administrator created the user ahead of its first login: adopt it.
                    user.Provider = identity.Issuer;
                    user.Subject = identity.Subject;
                }
                else
                {
                    throw new ControlException(ErrorCodes.Conflict, $"the login {loginName} belongs to another identity ({user.Provider}); ask an administrator");
                }

                await db.SaveChangesAsync(cancellationToken);
            }

            var machineText = login!.Machine.ToString();
            var nodeKeyText = login.NodeKey.ToString();
            if (await db.Nodes.AnyAsync(n => n.NodeKey == nodeKeyText && n.MachineKey != machineText, cancellationToken))
            {
                throw new ControlException(ErrorCodes.Conflict, "this node key belongs to another node");
            }

            var row = await db.Nodes.SingleOrDefaultAsync(n => n.MachineKey == machineText, cancellationToken);
            var old = row is null ? null : _tailnet.Find(row.StableId);
            if (row is null)
            {
                row = await CreateNodeRowAsync(db, login.Machine, login.NodeKey, login.Hostname, user.Id, [], ephemeral: false, authKeyId: null, now, cancellationToken);
            }
            else
            {
                // The machine re-authenticates as this user: it becomes the user's node (tags belong to auth keys).
                row.NodeKey = nodeKeyText;
                row.Hostname = login.Hostname;
                row.UserId = user.Id;
                row.Tags = "";
                row.AuthKeyId = null;
                row.Expired = false;
                row.KeyExpiry = KeyExpiryFor([], now);
                await db.SaveChangesAsync(cancellationToken);
            }

            var state = ToState(row) with { UserLogin = user.Login, Online = old?.Online ?? false };
            var result = Result(row, state);
            var userRow = user;
            after.Add(() =>
            {
                _userLogins[userRow.Id] = userRow.Login;
                _tailnet.Apply(old, state);
                Logins.Complete(login, result);
            });
            return (result, ToInfo(user));
        }, cancellationToken);
}
