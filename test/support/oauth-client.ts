import type * as OAuth from 'oauth4webapi';

/**
 * oauth4webapi ships as ESM only, and Jest runs these suites as CommonJS (SWC would turn `import()` into `require`),
 * so it is loaded through a dynamic import the transform cannot see. Needs `--experimental-vm-modules` (npm test).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant string, not user input
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

/** A third-party app as a user meets it: registered by an admin, approved by the user on the login page. */
export interface OAuthApp {
  clientId: string;
  /** Login + consent + code exchange: the tokens the user's approval buys. */
  tokens(user: { email: string; password: string }, scope: string): Promise<OAuth.TokenEndpointResponse>;
  /** RFC 7009 revocation (a refresh token takes its whole grant with it). */
  revoke(token: string): Promise<number>;
}

/** Registers a client for `scopes` with an admin key and drives the real flow with oauth4webapi. */
export async function registerOAuthApp(gatewayUrl: string, adminKey: string, scopes: string[]): Promise<OAuthApp> {
  const oauth = (await importEsm('oauth4webapi')) as typeof OAuth;
  const insecure = { [oauth.allowInsecureRequests]: true };
  const registered = await fetch(`${gatewayUrl}/admin/oauth-clients`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Third-party app', redirect_uris: [REDIRECT_URI], scopes }),
  });
  if (registered.status !== 201)
    throw new Error(`client registration: ${registered.status} ${await registered.text()}`);
  const { client_id: clientId } = (await registered.json()) as { client_id: string };
  const issuer = new URL(gatewayUrl);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  const client: OAuth.Client = { client_id: clientId };

  return {
    clientId,
    async tokens(user, scope) {
      const codeVerifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const url = new URL(as.authorization_endpoint!);
      for (const [name, value] of Object.entries({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        scope,
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      })) {
        url.searchParams.set(name, value);
      }
      const page = await (await fetch(url)).text();
      const form = new URLSearchParams({ email: user.email, password: user.password, decision: 'approve' });
      for (const match of page.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
        form.set(match[1], match[2].replace(/&amp;/g, '&'));
      }
      const answer = await fetch(new URL('/oauth/authorize', gatewayUrl), {
        method: 'POST',
        body: form,
        redirect: 'manual',
      });
      if (answer.status !== 302) throw new Error(`login: ${answer.status}`);
      const params = oauth.validateAuthResponse(as, client, new URL(answer.headers.get('location')!), state);
      return oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(
          as,
          client,
          oauth.None(),
          params,
          REDIRECT_URI,
          codeVerifier,
          insecure,
        ),
      );
    },
    async revoke(token) {
      const response = await fetch(new URL('/oauth/revoke', gatewayUrl), {
        method: 'POST',
        body: new URLSearchParams({ token, client_id: clientId }),
      });
      return response.status;
    },
  };
}
