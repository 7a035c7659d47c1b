import { registerOAuthApp, type OAuthApp } from '../support/oauth-client';
import { callApi } from '../support/api';
import { RunningProcess, startGateway } from '../support/processes';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ADMIN_KEY = 'xr-e2e-trust-admin-key-0123456789abcdef';
const ADMIN_USER = { email: 'root@example.com', password: 'correct horse battery staple' };
const PLAIN_USER = { email: 'plain@example.com', password: 'another horse battery staple' };

interface Json {
  [key: string]: unknown;
}

interface KeyView {
  id: string;
  key: string;
  scopes: string[];
  allowed_models: string[] | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  expires_at: string | null;
  parent_key_id: string | null;
  parent_token_id: string | null;
}

/**
 * Every credential's authority is its issuer's narrowed by its own grant: observed holes of issue #11 (an OAuth app
 * turned admin, a narrowed key taking over its siblings, budgets lost to child keys and rotation), against the
 * running gateway.
 */
describe('trust: no credential does or spends more than its issuer allowed', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
    for (const [user, role] of [
      [ADMIN_USER, 'admin'],
      [PLAIN_USER, 'user'],
    ] as const) {
      expect((await call(ADMIN_KEY, 'POST', '/admin/users', { ...user, role })).status).toBe(201);
    }
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi<Json>(gateway.url, key, method, path, body);

  const chat = async (key: string, model = 'mws-gpt-alpha'): Promise<number> =>
    (await call(key, 'POST', '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] })).status;

  async function newUser(email: string): Promise<string> {
    const created = await call(ADMIN_KEY, 'POST', '/admin/users', { email, role: 'user' });
    expect(created.status).toBe(201);
    return created.json.id as string;
  }

  async function mint(issuer: string, path: string, body: Json = {}): Promise<KeyView> {
    const created = await call(issuer, 'POST', path, { name: 'k', ...body });
    expect(created).toMatchObject({ status: 201 });
    return created.json as unknown as KeyView;
  }

  describe('an OAuth app approved by an admin', () => {
    let app: OAuthApp;

    beforeAll(async () => {
      app = await registerOAuthApp(gateway.url, ADMIN_KEY, ['chat', 'keys']);
    });

    it('should never reach /admin, nor mint a key that does, and its keys should die with the grant', async () => {
      const tokens = await app.tokens(ADMIN_USER, 'chat keys');
      expect((await call(tokens.access_token, 'GET', '/admin/users')).status).toBe(403);

      const minted = await mint(tokens.access_token, '/account/api-keys');
      expect(minted.scopes.sort()).toEqual(['chat', 'keys']);
      expect(minted.parent_token_id).not.toBeNull();
      expect(Date.parse(minted.expires_at!)).toBeLessThanOrEqual(Date.now() + (tokens.expires_in ?? 0) * 1000 + 1000);
      expect((await call(minted.key, 'GET', '/admin/users')).status).toBe(403);
      expect(
        (await call(minted.key, 'POST', '/admin/users', { email: 'evil@example.com', role: 'admin' })).status,
      ).toBe(403);
      const escalation = await call(tokens.access_token, 'POST', '/account/api-keys', { name: 'x', scopes: ['admin'] });
      expect(escalation.status).toBe(403);
      expect((escalation.json.error as Json).param).toBe('scopes');
      expect(await chat(minted.key)).toBe(200);

      const grandchild = await mint(minted.key, '/account/api-keys', { scopes: ['chat'] });
      expect(grandchild.parent_key_id).toBe(minted.id);
      expect(await chat(grandchild.key)).toBe(200);

      expect(await app.revoke(tokens.refresh_token!)).toBe(200);
      expect(await chat(tokens.access_token)).toBe(401);
      expect(await chat(minted.key)).toBe(401);
      expect(await chat(grandchild.key)).toBe(401);
      const listed = await call(ADMIN_KEY, 'GET', `/admin/api-keys/${grandchild.id}`);
      expect(listed.json.revoked_at).not.toBeNull();
    });

    it('should refuse to register a client for the admin scope', async () => {
      const registered = await call(ADMIN_KEY, 'POST', '/admin/oauth-clients', {
        name: 'x',
        redirect_uris: ['https://app.example.com/cb'],
        scopes: ['chat', 'admin'],
      });
      expect(registered.status).toBe(400);
      expect((registered.json.error as Json).param).toBe('scopes');
    });
  });

  it('should not let a narrowed key rotate or revoke a wider sibling, and keep the exact grant when rotating', async () => {
    const userId = await newUser('siblings@example.com');
    const wide = await mint(ADMIN_KEY, '/admin/api-keys', { user_id: userId });
    const narrow = await mint(wide.key, '/account/api-keys', { scopes: ['chat', 'keys'], allowed_models: ['t-pro'] });
    expect(narrow.parent_key_id).toBe(wide.id);

    expect((await call(narrow.key, 'POST', `/account/api-keys/${wide.id}/rotate`)).status).toBe(403);
    expect((await call(narrow.key, 'DELETE', `/account/api-keys/${wide.id}`)).status).toBe(403);
    expect(await chat(wide.key)).toBe(200);

    const rotated = await call(narrow.key, 'POST', `/account/api-keys/${narrow.id}/rotate`);
    expect(rotated.status).toBe(201);
    expect(rotated.json).toMatchObject({
      id: narrow.id,
      scopes: ['chat', 'keys'],
      allowed_models: ['t-pro'],
      parent_key_id: wide.id,
    });
    expect(await chat(narrow.key, 't-pro')).toBe(401);
    const secret = rotated.json.key as string;
    expect(await chat(secret, 't-pro')).toBe(200);
    expect(await chat(secret, 'mws-gpt-alpha')).toBe(404);

    expect((await call(wide.key, 'DELETE', `/account/api-keys/${narrow.id}`)).status).toBe(200);
    expect(await chat(secret, 't-pro')).toBe(401);
  });

  it('should make child keys and rotated keys spend from the same budget', async () => {
    const userId = await newUser('budget@example.com');
    const parent = await mint(ADMIN_KEY, '/admin/api-keys', { user_id: userId });
    expect(
      (await call(ADMIN_KEY, 'PUT', `/admin/api-keys/${parent.id}/budget`, { monthly_token_budget: 1 })).status,
    ).toBe(200);
    const child = await mint(parent.key, '/account/api-keys');
    expect(await chat(child.key)).toBe(200); // within the budget when it starts…
    const refused = await call(parent.key, 'POST', '/v1/chat/completions', {
      model: 'mws-gpt-alpha',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(refused.status).toBe(429); // …and the child's spend used up the parent's pool
    expect((refused.json.error as Json).code).toBe('insufficient_quota');
    const sibling = await mint(parent.key, '/account/api-keys');
    expect(await chat(sibling.key)).toBe(429);

    const rotated = await call(ADMIN_KEY, 'POST', `/admin/api-keys/${parent.id}/rotate`);
    expect(rotated.json).toMatchObject({ id: parent.id, monthly_token_budget: 1 });
    expect(await chat(rotated.json.key as string)).toBe(429);
    const budgets = await call(child.key, 'GET', '/account/budget');
    expect(budgets.json).toEqual(
      expect.arrayContaining([expect.objectContaining({ scope: 'key', id: parent.id })]) as unknown,
    );
  });

  it('should not let a key rotate or revoke its parent or a sibling of the same grant', async () => {
    const userId = await newUser('family@example.com');
    const parent = await mint(ADMIN_KEY, '/admin/api-keys', { user_id: userId });
    const [first, second] = [await mint(parent.key, '/account/api-keys'), await mint(parent.key, '/account/api-keys')];
    for (const [actor, target] of [
      [first, parent],
      [first, second],
      [second, first],
    ]) {
      expect((await call(actor.key, 'POST', `/account/api-keys/${target.id}/rotate`)).status).toBe(403);
      expect((await call(actor.key, 'DELETE', `/account/api-keys/${target.id}`)).status).toBe(403);
    }
    expect(await chat(parent.key)).toBe(200);
    expect((await call(parent.key, 'DELETE', `/account/api-keys/${second.id}`)).status).toBe(200);
    expect((await call(first.key, 'DELETE', `/account/api-keys/${first.id}`)).status).toBe(200);
  });

  it('should refuse an expiry it cannot read as a time with a 400, not a 500', async () => {
    for (const expires_at of ['2027-W01', '20270101', '2027-01-01T10']) {
      const created = await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'x', expires_at });
      expect(created.status).toBe(400);
      expect((created.json.error as Json).param).toBe('expires_at');
    }
  });

  it('should read null fields of a new key as not given: the creator’s grant, never a 500', async () => {
    const userId = await newUser('nulls@example.com');
    const parent = await mint(ADMIN_KEY, '/admin/api-keys', {
      user_id: userId,
      scopes: ['chat', 'keys'],
      rpm_limit: 9,
    });
    const child = await mint(parent.key, '/account/api-keys', {
      scopes: null,
      allowed_models: null,
      rpm_limit: null,
      expires_at: null,
    });
    expect(child).toMatchObject({ scopes: ['chat', 'keys'], allowed_models: null, rpm_limit: 9 });
  });

  it('should make child keys share their parent key’s request limit instead of multiplying it', async () => {
    const userId = await newUser('rpm-pool@example.com');
    const parent = await mint(ADMIN_KEY, '/admin/api-keys', { user_id: userId, rpm_limit: 6 });
    // The two calls that make the children count against the parent's window too.
    const children = [await mint(parent.key, '/account/api-keys'), await mint(parent.key, '/account/api-keys')];
    expect(children.map((c) => c.rpm_limit)).toEqual([6, 6]);
    const statuses = [];
    for (const key of [children[0].key, children[1].key, children[0].key, parent.key, children[1].key]) {
      statuses.push(await chat(key));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const refused = await call(children[0].key, 'POST', '/v1/chat/completions', {
      model: 'mws-gpt-alpha',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect((refused.json.error as Json).message).toContain(`shared with the key ${parent.id}`);
  });

  /** A small seeded generator, so the enumeration is the same every run. */
  function generator(seed: number) {
    let state = seed;
    const next = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    return { next, subset: <T>(items: readonly T[]): T[] => items.filter(() => next() < 0.6) };
  }

  it('should give no derived credential a scope, model, limit or lifetime its ancestors lack, on every chain', async () => {
    const random = generator(11);
    const plainUserKey = await mint(ADMIN_KEY, '/admin/api-keys', {
      user_id: ((await call(ADMIN_KEY, 'GET', '/admin/users')).json as unknown as Json[]).find(
        (u) => u.email === PLAIN_USER.email,
      )!.id,
    });
    const app = await registerOAuthApp(gateway.url, ADMIN_KEY, ['chat', 'embeddings', 'keys']);
    const adminToken = (await app.tokens(ADMIN_USER, 'chat embeddings keys')).access_token;
    const userToken = (await app.tokens(PLAIN_USER, 'chat keys')).access_token;
    const never = { allowed_models: null, rpm_limit: null, tpm_limit: null, expires_at: null };
    const roots: Array<[string, string, Omit<KeyView, 'id' | 'key' | 'parent_key_id' | 'parent_token_id'>]> = [
      ['admin key', ADMIN_KEY, { scopes: ['chat', 'embeddings', 'keys', 'admin'], ...never }],
      ['user key', plainUserKey.key, { ...plainUserKey }],
      ['OAuth token of an admin', adminToken, { scopes: ['chat', 'embeddings', 'keys'], ...never }],
      ['OAuth token of a user', userToken, { scopes: ['chat', 'keys'], ...never }],
    ];
    const models = ['t-pro', 'mws-gpt-alpha', 'GigaChat-2', 'yandexgpt-lite'];
    let refusals = 0;
    for (const [name, rootSecret, rootGrant] of roots) {
      for (let chain = 0; chain < 3; chain++) {
        let issuer = { secret: rootSecret, ...rootGrant };
        for (let depth = 0; depth < 3; depth++) {
          const asked: Json = { name: `${name} ${chain}.${depth}`, scopes: [...random.subset(issuer.scopes), 'keys'] };
          if (random.next() < 0.5) asked.allowed_models = random.subset(models);
          if (random.next() < 0.5) asked.rpm_limit = 1 + Math.floor(random.next() * 1000);
          if (random.next() < 0.5) asked.expires_at = new Date(Date.now() + random.next() * 1e10).toISOString();
          const created = await call(issuer.secret, 'POST', '/account/api-keys', asked);
          const wider =
            !(asked.scopes as string[]).every((s) => issuer.scopes.includes(s)) ||
            (issuer.allowed_models !== null &&
              Array.isArray(asked.allowed_models) &&
              !(asked.allowed_models as string[]).every((m) => issuer.allowed_models!.includes(m))) ||
            (issuer.rpm_limit !== null && typeof asked.rpm_limit === 'number' && asked.rpm_limit > issuer.rpm_limit) ||
            (issuer.expires_at !== null &&
              typeof asked.expires_at === 'string' &&
              Date.parse(asked.expires_at) > Date.parse(issuer.expires_at));
          if (wider) {
            expect(created.status).toBe(403);
            refusals++;
            continue;
          }
          expect(created.status).toBe(201);
          const derived = created.json as unknown as KeyView;
          expect(issuer.scopes).toEqual(expect.arrayContaining(derived.scopes));
          if (issuer.allowed_models)
            expect(issuer.allowed_models).toEqual(expect.arrayContaining(derived.allowed_models!));
          if (issuer.rpm_limit !== null) expect(derived.rpm_limit).toBeLessThanOrEqual(issuer.rpm_limit);
          if (issuer.tpm_limit !== null) expect(derived.tpm_limit).toBeLessThanOrEqual(issuer.tpm_limit);
          if (issuer.expires_at)
            expect(Date.parse(derived.expires_at!)).toBeLessThanOrEqual(Date.parse(issuer.expires_at));
          expect((await call(derived.key, 'GET', '/admin/users')).status).toBe(
            derived.scopes.includes('admin') ? 200 : 403,
          );
          issuer = { secret: derived.key, ...derived };
        }
      }
    }
    expect(refusals).toBeGreaterThan(0); // the enumeration did try to widen somewhere
  });
});
