// A real OpenID Connect provider (the oidc-provider package) for the login tests, on 127.0.0.1.
// Protocol with the test: prints {"port":N} once listening; reads one JSON line on stdin
// {"clients":[...oidc-provider client metadata...],"accounts":{"id":{email,email_verified,name}}};
// builds the provider for issuer http://127.0.0.1:N and prints {"ready":true}. Exits when stdin closes.
// Interactions are non-interactive: GET /interaction/<uid>?user=<id> logs in <id> and grants what the client asked.
import http from 'node:http';
import readline from 'node:readline';
import Provider from 'oidc-provider';

let provider;
let accounts = {};

const server = http.createServer(async (req, res) => {
  if (!provider) {
    res.statusCode = 503;
    res.end('not configured yet');
    return;
  }

  const url = new URL(req.url, provider.issuer);
  if (!url.pathname.startsWith('/interaction/')) {
    provider.callback()(req, res);
    return;
  }

  try {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === 'login') {
      const user = url.searchParams.get('user');
      if (!user || !accounts[user]) {
        res.statusCode = 400;
        res.end(`unknown test user ${user}`);
        return;
      }

      await provider.interactionFinished(req, res, { login: { accountId: user } }, { mergeWithLastSubmission: false });
      return;
    }

    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }

    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  } catch (e) {
    res.statusCode = 500;
    res.end(String(e));
  }
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n');
});

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (provider) return;
  const config = JSON.parse(line);
  accounts = config.accounts;
  provider = new Provider(`http://127.0.0.1:${server.address().port}`, {
    clients: config.clients,
    cookies: { keys: ['meshwire-test-cookie-key'] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
  });
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
});
input.on('close', () => process.exit(0));
