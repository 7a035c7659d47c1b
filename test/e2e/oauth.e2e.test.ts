import type * as OAuth from 'oauth4webapi';
import { DataSource } from 'typeorm';
import { hashPassword } from '@xrouter/auth';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import { request as httpRequest } from 'node:http';
import { freePort, RunningProcess, startGateway } from '../support/processes';
import { createTestDatabase, TestDatabase } from '../support/test-database';

/**
 * oauth4webapi ships as ESM only, and Jest runs these suites as CommonJS (SWC would turn `import()` into `require`),
 * so it is loaded through a dynamic import the transform cannot see. Needs `--experimental-vm-modules` (npm test).
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- a constant string, not user input
const importEsm = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

const ADMIN_KEY = 'xr-e2e-oauth-admin-key-0123456789abcdef';
const REDIRECT_URI = 'http://127.0.0.1:8765/callback';
const OTHER_REDIRECT_URI = 'https://app.example.com/oauth/callback';
const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };
const BOB = { email: 'bob@example.com', password: 'another long passphrase' };
const CAROL = { email: 'carol@example.com', password: 'yet another passphrase' };

interface ClientInfo {
  client_id: string;
  name: string;
  redirect_uris: string[];
  scopes: string[];
}

interface OAuthErrorBody {
  error: string;
  error_description: string;
}

/** Users are created with SQL (the users admin API is not the subject here), before the gateway owns the database. */
async function seedUsers(env: TestDatabase['env']): Promise<void> {
  const dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(env))).initialize();
  try {
    await runMigrations(dataSource);
    for (const user of [ALICE, BOB, CAROL]) {
      await dataSource.query(`INSERT INTO users (email, name, role, password_hash) VALUES ($1, 'User', 'user', $2)`, [
        user.email,
        await hashPassword(user.password),
      ]);
    }
  } finally {
    await dataSource.destroy();
  }
}

const HTML_ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescapeHtml = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => HTML_ENTITIES[entity]);

/** The hidden fields of the login form, as a browser would submit them. */
function hiddenFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) {
    fields[unescapeHtml(match[1])] = unescapeHtml(match[2]);
  }
  return fields;
}

/** A running gateway with a seeded user, one registered client, and the helpers a client app would need. */
async function startTestbed(extraEnv: Record<string, string> = {}) {
  const oauth = (await importEsm('oauth4webapi')) as typeof OAuth;
  const db = await createTestDatabase();
  await seedUsers(db.env);
  // The issuer is configuration, never the request's Host: the gateway is told its own public URL.
  const port = await freePort();
  const gateway = await startGateway({
    ...db.env,
    ADMIN_API_KEY: ADMIN_KEY,
    PORT: String(port),
    OAUTH_ISSUER: `http://127.0.0.1:${port}`,
    ...extraEnv,
  });
  const insecure = { [oauth.allowInsecureRequests]: true };

  const registerClient = async (body: unknown, key = ADMIN_KEY) =>
    fetch(`${gateway.url}/admin/oauth-clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const registered = await registerClient({
    name: 'Acme <Chat>',
    redirect_uris: [REDIRECT_URI, OTHER_REDIRECT_URI],
    scopes: ['chat'],
  });
  expect(registered.status).toBe(201);
  const clientInfo = (await registered.json()) as ClientInfo;

  const issuer = new URL(gateway.url);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
  const client: OAuth.Client = { client_id: clientInfo.client_id };

  /** An authorization request as the client library would build it. */
  async function authorizationRequest(overrides: Record<string, string | null> = {}) {
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint!);
    const params: Record<string, string | null> = {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      scope: 'chat',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      ...overrides,
    };
    for (const [name, value] of Object.entries(params)) if (value !== null) url.searchParams.set(name, value);
    return { url, codeVerifier, state };
  }

  /** The user in the browser: opens the page and fills in the form; returns what pressing a button would post. */
  async function fillLoginForm(
    url: URL,
    fill: { email?: string; password?: string; decision?: 'approve' | 'deny' } = {},
  ): Promise<URLSearchParams> {
    const page = await fetch(url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<form method="post" action="/oauth/authorize">');
    return new URLSearchParams({
      ...hiddenFields(html),
      email: fill.email ?? ALICE.email,
      password: fill.password ?? ALICE.password,
      decision: fill.decision ?? 'approve',
    });
  }

  /** Posts the login form, from `forwardedFor` when the gateway trusts a proxy on loopback (TRUST_PROXY). */
  const postLoginForm = (form: URLSearchParams, forwardedFor?: string) =>
    fetch(new URL('/oauth/authorize', gateway.url), {
      method: 'POST',
      body: form,
      redirect: 'manual',
      headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {},
    });

  /** The user in the browser: opens the page, fills in the form, presses a button; returns the form's response. */
  async function submitLoginForm(
    url: URL,
    fill: { email?: string; password?: string; decision?: 'approve' | 'deny' } = {},
  ): Promise<Response> {
    return postLoginForm(await fillLoginForm(url, fill));
  }

  /** Login and consent, then the validated callback parameters (code, state, iss). */
  async function authorize(overrides: Record<string, string | null> = {}) {
    const request = await authorizationRequest(overrides);
    const response = await submitLoginForm(request.url);
    expect(response.status).toBe(302);
    const callback = new URL(response.headers.get('location')!);
    const params = oauth.validateAuthResponse(as, client, callback, request.state);
    return { ...request, callback, params };
  }

  const codeGrant = (params: URLSearchParams, codeVerifier: string, redirectUri = REDIRECT_URI) =>
    oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, codeVerifier, insecure);
  const refreshGrant = (refreshToken: string) =>
    oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, insecure);

  /** The whole flow up to tokens. */
  async function obtainTokens(): Promise<OAuth.TokenEndpointResponse> {
    const { params, codeVerifier } = await authorize();
    return oauth.processAuthorizationCodeResponse(as, client, await codeGrant(params, codeVerifier));
  }

  const bearer = (token: string, path = '/v1/models', init: RequestInit = {}) =>
    fetch(`${gateway.url}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
    });
  const chat = (token: string) =>
    bearer(token, '/v1/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Привет через OAuth' }] }),
    });

  const stop = async () => {
    await gateway.stop();
    await db.drop();
  };

  return {
    oauth,
    gateway,
    as,
    client,
    clientInfo,
    registerClient,
    authorizationRequest,
    fillLoginForm,
    postLoginForm,
    submitLoginForm,
    authorize,
    codeGrant,
    refreshGrant,
    obtainTokens,
    bearer,
    chat,
    stop,
  };
}

type Testbed = Awaited<ReturnType<typeof startTestbed>>;

async function errorOf(response: Response): Promise<{ status: number; body: OAuthErrorBody }> {
  return { status: response.status, body: (await response.json()) as OAuthErrorBody };
}

/** A GET with a Host header of the caller's choosing (fetch will not send one), answered with status and headers. */
function getWithHost(url: URL, host: string): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

describe('OAuth 2.0 authorization server end to end (oauth4webapi against the running gateway)', () => {
  let t: Testbed;

  beforeAll(async () => {
    t = await startTestbed();
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('should publish RFC 8414 metadata that allows only the code flow with PKCE S256', () => {
    expect(t.as).toMatchObject({
      issuer: t.gateway.url,
      authorization_endpoint: `${t.gateway.url}/oauth/authorize`,
      token_endpoint: `${t.gateway.url}/oauth/token`,
      revocation_endpoint: `${t.gateway.url}/oauth/revoke`,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
    });
  });

  it('should run the whole flow: authorize, token, chat, refresh, revoke → 401', async () => {
    const { oauth, as, client } = t;
    const { params, codeVerifier, callback } = await t.authorize();
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('iss')).toBe(t.gateway.url);

    const tokens = await oauth.processAuthorizationCodeResponse(as, client, await t.codeGrant(params, codeVerifier));
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.access_token).toMatch(/^xro-/);
    expect(tokens.refresh_token).toMatch(/^xrr-/);
    expect(tokens.scope).toBe('chat');
    expect(tokens.expires_in).toBe(365 * 86_400);

    const completion = await t.chat(tokens.access_token);
    expect(completion.status).toBe(200);
    const body = (await completion.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0].message.content).toContain('Привет через OAuth');

    // The refresh token is not a bearer credential.
    expect((await t.bearer(tokens.refresh_token!)).status).toBe(401);

    const refreshed = await oauth.processRefreshTokenResponse(as, client, await t.refreshGrant(tokens.refresh_token!));
    expect(refreshed.access_token).not.toBe(tokens.access_token);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect((await t.chat(refreshed.access_token)).status).toBe(200);

    const revocation = await oauth.revocationRequest(as, client, oauth.None(), refreshed.access_token, {
      [oauth.allowInsecureRequests]: true,
    });
    await oauth.processRevocationResponse(revocation);
    const refused = await t.bearer(refreshed.access_token);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect((await t.chat(refreshed.access_token)).status).toBe(401);
    // Revoking an access token leaves the rest of the grant alone.
    expect((await t.chat(tokens.access_token)).status).toBe(200);
  });

  it('should revoke the whole grant when its refresh token is revoked', async () => {
    const tokens = await t.obtainTokens();
    const revocation = await t.oauth.revocationRequest(t.as, t.client, t.oauth.None(), tokens.refresh_token!, {
      [t.oauth.allowInsecureRequests]: true,
    });
    expect(revocation.status).toBe(200);
    expect((await t.bearer(tokens.access_token)).status).toBe(401);
    expect((await errorOf(await t.refreshGrant(tokens.refresh_token!))).body.error).toBe('invalid_grant');
  });

  it('should answer 200 when revoking an unknown token (RFC 7009)', async () => {
    const revocation = await t.oauth.revocationRequest(t.as, t.client, t.oauth.None(), 'xro-unknown', {
      [t.oauth.allowInsecureRequests]: true,
    });
    expect(revocation.status).toBe(200);
  });

  it('should give the token the client scopes only: chat yes, embeddings 403', async () => {
    const tokens = await t.obtainTokens();
    const embeddings = await t.bearer(tokens.access_token, '/v1/embeddings', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bge-m3', input: 'x' }),
    });
    expect(embeddings.status).toBe(403);
  });

  it('should serve a login page that cannot be framed and escapes the client name', async () => {
    const { url } = await t.authorizationRequest();
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    const html = await page.text();
    expect(html).toContain('Acme &lt;Chat&gt;');
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!127\.0\.0\.1)/);
  });

  it('should re-render the page with 401 on a wrong password, and issue nothing', async () => {
    const { url } = await t.authorizationRequest();
    const response = await t.submitLoginForm(url, { password: 'wrong password' });
    expect(response.status).toBe(401);
    expect(response.headers.get('location')).toBeNull();
    const html = await response.text();
    expect(html).toContain('Incorrect email or password.');
    expect(html).toContain(`value="${ALICE.email}"`);
    expect(html).not.toContain('wrong password');
  });

  it('should refuse an unknown email exactly like a wrong password', async () => {
    const { url } = await t.authorizationRequest();
    const response = await t.submitLoginForm(url, { email: 'nobody@example.com' });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Incorrect email or password.');
  });

  it('should send the user back with access_denied and the state when they deny', async () => {
    const { url, state } = await t.authorizationRequest();
    const response = await t.submitLoginForm(url, { decision: 'deny', password: '' });
    expect(response.status).toBe(302);
    const callback = new URL(response.headers.get('location')!);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(state);
    expect(callback.searchParams.get('code')).toBeNull();
  });

  it('should take the issuer from OAUTH_ISSUER whatever the Host header says', async () => {
    const metadata = await getWithHost(
      new URL('/.well-known/oauth-authorization-server', t.gateway.url),
      'evil.example',
    );
    expect(metadata.status).toBe(200);
    expect(JSON.parse(metadata.body)).toMatchObject({
      issuer: t.gateway.url,
      authorization_endpoint: `${t.gateway.url}/oauth/authorize`,
      token_endpoint: `${t.gateway.url}/oauth/token`,
      revocation_endpoint: `${t.gateway.url}/oauth/revoke`,
    });
    expect(metadata.body).not.toContain('evil.example');
    // The iss of a redirect back to the client, too.
    const { url } = await t.authorizationRequest({ code_challenge_method: 'plain', code_challenge: 'a'.repeat(43) });
    const redirect = await getWithHost(url, 'evil.example');
    expect(redirect.status).toBe(302);
    expect(new URL(redirect.location!).searchParams.get('iss')).toBe(t.gateway.url);
  });

  describe.each(['/oauth/token', '/oauth/revoke'])('%s with a body that is not a form', (path) => {
    it.each<[string, RequestInit]>([
      ['no body', {}],
      ['text/plain', { headers: { 'content-type': 'text/plain' }, body: 'grant_type=authorization_code' }],
      ['JSON null', { headers: { 'content-type': 'application/json' }, body: 'null' }],
      ['a JSON array', { headers: { 'content-type': 'application/json' }, body: '[1]' }],
    ])('should answer invalid_request 400 for %s', async (_name, init) => {
      const response = await fetch(`${t.gateway.url}${path}`, { method: 'POST', ...init });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(await response.json()).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    });
  });

  it.each<[string, RequestInit]>([
    ['no body', {}],
    ['text/plain', { headers: { 'content-type': 'text/plain' }, body: 'email=a' }],
    ['JSON null', { headers: { 'content-type': 'application/json' }, body: 'null' }],
  ])('should answer the login form posted with %s with a 400 page', async (_name, init) => {
    const response = await fetch(`${t.gateway.url}/oauth/authorize`, { method: 'POST', redirect: 'manual', ...init });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('location')).toBeNull();
  });

  describe('refusals, each with its status and nothing granted', () => {
    it('should refuse a wrong code verifier with invalid_grant, and burn the code', async () => {
      const { params, codeVerifier } = await t.authorize();
      const wrong = await errorOf(await t.codeGrant(params, t.oauth.generateRandomCodeVerifier()));
      expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(wrong.body).not.toHaveProperty('access_token');
      // The code allowed one attempt: even the right verifier cannot use it now.
      expect((await errorOf(await t.codeGrant(params, codeVerifier))).body.error).toBe('invalid_grant');
    });

    it.each([
      ['plain', 'plain'],
      ['a missing method (defaults to plain)', null],
    ])('should refuse code_challenge_method %s with invalid_request sent back to the client', async (_name, method) => {
      const { url, state, codeVerifier } = await t.authorizationRequest({
        code_challenge_method: method,
        code_challenge: 'a'.repeat(43),
      });
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(302);
      const callback = new URL(response.headers.get('location')!);
      expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('error')).toBe('invalid_request');
      expect(callback.searchParams.get('error_description')).toContain('S256');
      expect(callback.searchParams.get('state')).toBe(state);
      expect(callback.searchParams.get('code')).toBeNull();
      expect(codeVerifier).toBeTruthy();
    });

    it('should refuse a request without PKCE', async () => {
      const { url } = await t.authorizationRequest({ code_challenge: null });
      const response = await fetch(url, { redirect: 'manual' });
      const callback = new URL(response.headers.get('location')!);
      expect(callback.searchParams.get('error')).toBe('invalid_request');
    });

    it('should refuse a reused code with invalid_grant and revoke what the first use bought', async () => {
      const { params, codeVerifier } = await t.authorize();
      const first = await t.oauth.processAuthorizationCodeResponse(
        t.as,
        t.client,
        await t.codeGrant(params, codeVerifier),
      );
      expect((await t.chat(first.access_token)).status).toBe(200);
      const again = await errorOf(await t.codeGrant(params, codeVerifier));
      expect(again).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect((await t.bearer(first.access_token)).status).toBe(401);
      expect((await errorOf(await t.refreshGrant(first.refresh_token!))).body.error).toBe('invalid_grant');
    });

    it('should show a 400 page, never a redirect, for a redirect URI that is not registered', async () => {
      const { url } = await t.authorizationRequest({ redirect_uri: 'https://evil.example/callback' });
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.get('content-type')).toContain('text/html');
      expect(await response.text()).toContain('redirect_uri');
    });

    it('should match redirect URIs exactly (a trailing slash is another URI)', async () => {
      const { url } = await t.authorizationRequest({ redirect_uri: `${REDIRECT_URI}/` });
      const response = await fetch(url, { redirect: 'manual' });
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });

    it('should refuse at the token endpoint a redirect_uri other than the authorization request used', async () => {
      const { params, codeVerifier } = await t.authorize();
      const mismatch = await errorOf(await t.codeGrant(params, codeVerifier, OTHER_REDIRECT_URI));
      expect(mismatch).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    });

    it('should show a 400 page, never a redirect, for an unknown client', async () => {
      for (const clientId of ['7d2b0f3c-1111-4222-8333-944455556666', 'not-a-uuid']) {
        const { url } = await t.authorizationRequest({ client_id: clientId });
        const response = await fetch(url, { redirect: 'manual' });
        expect(response.status).toBe(400);
        expect(response.headers.get('location')).toBeNull();
        expect(await response.text()).toContain('not registered');
      }
    });

    it('should answer invalid_client 401 at the token endpoint for an unknown client', async () => {
      const response = await fetch(t.as.token_endpoint!, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: '7d2b0f3c-1111-4222-8333-944455556666',
          code: 'whatever',
          redirect_uri: REDIRECT_URI,
          code_verifier: t.oauth.generateRandomCodeVerifier(),
        }),
      });
      expect(await errorOf(response)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    });

    it('should answer unsupported_grant_type for other grants', async () => {
      const response = await fetch(t.as.token_endpoint!, {
        method: 'POST',
        body: new URLSearchParams({ grant_type: 'password', client_id: t.client.client_id }),
      });
      expect(await errorOf(response)).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    });

    it('should revoke the whole family when an old refresh token is replayed', async () => {
      const tokens = await t.obtainTokens();
      const rotated = await t.oauth.processRefreshTokenResponse(
        t.as,
        t.client,
        await t.refreshGrant(tokens.refresh_token!),
      );
      expect((await t.chat(rotated.access_token)).status).toBe(200);

      const replay = await errorOf(await t.refreshGrant(tokens.refresh_token!));
      expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
      expect(replay.body).not.toHaveProperty('access_token');
      // Every token of the family is dead, the newest included.
      expect((await t.bearer(rotated.access_token)).status).toBe(401);
      expect((await t.bearer(tokens.access_token)).status).toBe(401);
      expect((await errorOf(await t.refreshGrant(rotated.refresh_token!))).body.error).toBe('invalid_grant');
    });
  });

  describe('client administration', () => {
    it('should refuse a non-admin with 403 and an anonymous caller with 401', async () => {
      const tokens = await t.obtainTokens();
      const asUser = await t.registerClient(
        { name: 'x', redirect_uris: [REDIRECT_URI], scopes: ['chat'] },
        tokens.access_token,
      );
      expect(asUser.status).toBe(403);
      expect((await t.bearer(tokens.access_token, '/admin/oauth-clients')).status).toBe(403);
      expect((await fetch(`${t.gateway.url}/admin/oauth-clients`)).status).toBe(401);
    });

    it('should refuse redirect URIs that are not https, loopback http or a private-use scheme', async () => {
      for (const uri of ['http://app.example.com/cb', 'https://app.example.com/cb#x', 'javascript:alert(1)']) {
        const response = await t.registerClient({ name: 'bad', redirect_uris: [uri], scopes: ['chat'] });
        expect(response.status).toBe(400);
        const body = (await response.json()) as { error: { param: string } };
        expect(body.error.param).toBe('redirect_uris');
      }
    });

    it('should list clients, and deleting one should revoke its tokens at once', async () => {
      const created = await t.registerClient({
        name: 'Short-lived',
        redirect_uris: [REDIRECT_URI],
        scopes: ['chat', 'embeddings'],
      });
      const info = (await created.json()) as ClientInfo;
      const list = await t.bearer(ADMIN_KEY, '/admin/oauth-clients');
      expect(((await list.json()) as ClientInfo[]).map((c) => c.client_id)).toContain(info.client_id);

      const other: OAuth.Client = { client_id: info.client_id };
      const request = await t.authorizationRequest({ client_id: info.client_id, scope: null });
      const response = await t.submitLoginForm(request.url);
      const params = t.oauth.validateAuthResponse(
        t.as,
        other,
        new URL(response.headers.get('location')!),
        request.state,
      );
      const tokens = await t.oauth.processAuthorizationCodeResponse(
        t.as,
        other,
        await t.oauth.authorizationCodeGrantRequest(
          t.as,
          other,
          t.oauth.None(),
          params,
          REDIRECT_URI,
          request.codeVerifier,
          {
            [t.oauth.allowInsecureRequests]: true,
          },
        ),
      );
      expect(tokens.scope).toBe('chat embeddings');
      expect((await t.bearer(tokens.access_token)).status).toBe(200);

      const deleted = await t.bearer(ADMIN_KEY, `/admin/oauth-clients/${info.client_id}`, { method: 'DELETE' });
      expect(deleted.status).toBe(204);
      expect((await t.bearer(tokens.access_token)).status).toBe(401);
      expect((await t.bearer(ADMIN_KEY, `/admin/oauth-clients/${info.client_id}`, { method: 'DELETE' })).status).toBe(
        404,
      );
      const page = await fetch((await t.authorizationRequest({ client_id: info.client_id })).url, {
        redirect: 'manual',
      });
      expect(page.status).toBe(400);
    });
  });
});

describe('OAuth authorization codes expire (OAUTH_CODE_TTL_SECONDS=1)', () => {
  let t: Testbed;

  beforeAll(async () => {
    t = await startTestbed({ OAUTH_CODE_TTL_SECONDS: '1' });
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
  });

  it('should refuse an expired code with invalid_grant', async () => {
    const { params, codeVerifier } = await t.authorize();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const expired = await errorOf(await t.codeGrant(params, codeVerifier));
    expect(expired).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(expired.body).not.toHaveProperty('access_token');
  });
});

describe('OAuth issuer without OAUTH_ISSUER', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, OAUTH_ISSUER: '' });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should be http://localhost:<PORT>, never the Host header, with one start-up warning', async () => {
    const port = new URL(gateway.url).port;
    const metadata = await getWithHost(new URL('/.well-known/oauth-authorization-server', gateway.url), 'evil.example');
    expect(JSON.parse(metadata.body)).toMatchObject({
      issuer: `http://localhost:${port}`,
      token_endpoint: `http://localhost:${port}/oauth/token`,
    });
    expect(gateway.output().match(/set OAUTH_ISSUER/g)).toHaveLength(1);
  });
});

describe('OAuth sign-in attempts are limited per e-mail and client address (TRUST_PROXY)', () => {
  let t: Testbed;

  beforeAll(async () => {
    t = await startTestbed({ TRUST_PROXY: 'loopback' });
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
  });

  const form = async (user: { email: string; password: string }, password = user.password) =>
    t.fillLoginForm((await t.authorizationRequest()).url, { email: user.email, password });
  const statuses = (responses: Response[]) => responses.map((r) => r.status).sort();

  it('should check exactly 10 of 40 parallel wrong passwords from one address and refuse the rest with 429', async () => {
    const wrong = await form(ALICE, 'wrong password');
    const answers = await Promise.all(Array.from({ length: 40 }, () => t.postLoginForm(wrong, '203.0.113.10')));
    const seen = statuses(answers);
    expect(seen.filter((s) => s === 401)).toHaveLength(10);
    expect(seen.filter((s) => s === 429)).toHaveLength(30);
    const refused = answers.find((r) => r.status === 429)!;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.text()).toContain('Too many sign-in attempts');
    // That address is out of attempts, even with the right password…
    expect((await t.postLoginForm(await form(ALICE), '203.0.113.10')).status).toBe(429);
    // …but the user is not locked out: from another address they sign in.
    const elsewhere = await t.postLoginForm(await form(ALICE), '203.0.113.11');
    expect(elsewhere.status).toBe(302);
    expect(new URL(elsewhere.headers.get('location')!).searchParams.get('code')).toBeTruthy();
  });

  it("should start an address's count again when the user signs in from it", async () => {
    const wrong = await form(BOB, 'wrong password');
    for (let i = 0; i < 5; i++) expect((await t.postLoginForm(wrong, '203.0.113.20')).status).toBe(401);
    expect((await t.postLoginForm(await form(BOB), '203.0.113.20')).status).toBe(302);
    for (let i = 0; i < 10; i++) expect((await t.postLoginForm(wrong, '203.0.113.20')).status).toBe(401);
    expect((await t.postLoginForm(wrong, '203.0.113.20')).status).toBe(429);
  });

  it('should slow, not lock, a user whose e-mail is flooded from many addresses', async () => {
    const wrong = await form(CAROL, 'wrong password');
    const flood = await Promise.all(
      ['203.0.113.30', '203.0.113.31'].flatMap((ip) => Array.from({ length: 10 }, () => t.postLoginForm(wrong, ip))),
    );
    expect(statuses(flood).filter((s) => s === 401)).toHaveLength(20);
    const right = await form(CAROL);
    const slowed = await t.postLoginForm(right, '203.0.113.32');
    expect(slowed.status).toBe(429);
    const retryAfter = Number(slowed.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15);
    await new Promise((r) => setTimeout(r, retryAfter * 1000));
    expect((await t.postLoginForm(right, '203.0.113.32')).status).toBe(302);
  }, 60_000);
});
