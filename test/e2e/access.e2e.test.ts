import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { callApi } from '../support/api';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-access-0123456789';

interface Json {
  [key: string]: unknown;
}

/** Users and API keys as admins and users manage them, through the running gateway. */
describe('access: users and API keys', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi<Json>(gateway.url, key, method, path, body);

  const chat = (key: string, model = 'mws-gpt-alpha') =>
    new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
    });

  async function newUser(email: string): Promise<string> {
    const created = await call(ADMIN_KEY, 'POST', '/admin/users', { email, role: 'user', name: 'Test' });
    expect(created.status).toBe(201);
    return created.json.id as string;
  }

  async function newKey(userId: string, extra: Json = {}): Promise<{ id: string; key: string }> {
    const created = await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'k', user_id: userId, ...extra });
    expect(created.status).toBe(201);
    expect(created.json.key).toMatch(/^xr-[\w-]{43}$/);
    return { id: created.json.id as string, key: created.json.key as string };
  }

  it('should let an admin create a user and a key that works with the openai client, shown once', async () => {
    const userId = await newUser('alice@example.com');
    const { id, key } = await newKey(userId);
    expect((await chat(key)).choices[0].message.content).toContain('Echo: hi');
    const listed = await call(ADMIN_KEY, 'GET', `/admin/api-keys/${id}`);
    expect(listed.status).toBe(200);
    expect(listed.json.key).toBeUndefined();
    expect(listed.json.prefix).toBe(key.slice(0, 11));
  });

  it('should refuse a duplicate email and bad input in the OpenAI envelope', async () => {
    await newUser('dup@example.com');
    const dup = await call(ADMIN_KEY, 'POST', '/admin/users', { email: 'DUP@example.com', role: 'user' });
    expect(dup.status).toBe(400);
    expect((dup.json.error as Json).param).toBe('email');
    const bad = await call(ADMIN_KEY, 'POST', '/admin/users', { email: 'not-an-email', role: 'root' });
    expect(bad.status).toBe(400);
    const huge = await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'k', tpm_limit: 2 ** 31 });
    expect(huge.status).toBe(400);
    expect((huge.json.error as Json).param).toBe('tpm_limit');
  });

  it('should stop a key revoked mid-session at once, and rotate keys', async () => {
    const userId = await newUser('bob@example.com');
    const { id, key } = await newKey(userId);
    await chat(key);
    expect((await call(ADMIN_KEY, 'DELETE', `/admin/api-keys/${id}`)).status).toBe(200);
    await expect(chat(key)).rejects.toMatchObject({ status: 401 });

    const second = await newKey(userId);
    const rotated = await call(ADMIN_KEY, 'POST', `/admin/api-keys/${second.id}/rotate`);
    expect(rotated.status).toBe(201);
    await expect(chat(second.key)).rejects.toMatchObject({ status: 401 });
    expect((await chat(rotated.json.key as string)).choices).toHaveLength(1);
  });

  it('should keep users to their own keys and out of /admin', async () => {
    const carol = await newKey(await newUser('carol@example.com'));
    const dave = await newKey(await newUser('dave@example.com'));
    expect((await call(carol.key, 'GET', '/admin/users')).status).toBe(403);
    expect((await call(carol.key, 'GET', '/admin/api-keys')).status).toBe(403);
    expect((await call(carol.key, 'GET', `/account/api-keys/${dave.id}`)).status).toBe(404);
    expect((await call(carol.key, 'DELETE', `/account/api-keys/${dave.id}`)).status).toBe(404);
    await chat(dave.key);
    const own = await call(carol.key, 'GET', '/account/api-keys');
    expect(own.status).toBe(200);
    expect((own.json as unknown as Json[]).map((k) => k.id)).toEqual([carol.id]);
  });

  it('should let a user create their own narrower key, never a wider one', async () => {
    const erin = await newKey(await newUser('erin@example.com'), {
      rpm_limit: 100,
      allowed_models: ['mws-gpt-alpha', 't-pro'],
    });
    const own = await call(erin.key, 'POST', '/account/api-keys', { name: 'mine', allowed_models: ['t-pro'] });
    expect(own.status).toBe(201);
    expect(own.json).toMatchObject({ rpm_limit: 100, allowed_models: ['t-pro'] });
    const wider = await call(erin.key, 'POST', '/account/api-keys', { name: 'wide', rpm_limit: 1000 });
    expect(wider.status).toBe(403);
    expect(((wider.json.error as Json).param as string) ?? '').toBe('rpm_limit');
  });

  it('should limit a key to its allowed models and scopes', async () => {
    const userId = await newUser('frank@example.com');
    const limited = await newKey(userId, { allowed_models: ['t-pro'] });
    const client = new OpenAI({ apiKey: limited.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['t-pro']);
    await expect(chat(limited.key, 'mws-gpt-alpha')).rejects.toMatchObject({ status: 404 });
    expect((await chat(limited.key, 't-pro')).choices).toHaveLength(1);

    const embeddingsOnly = await newKey(userId, { scopes: ['embeddings'] });
    await expect(chat(embeddingsOnly.key)).rejects.toMatchObject({ status: 403 });
  });

  it('should refuse an expired key and every key of a disabled user', async () => {
    const userId = await newUser('grace@example.com');
    const soon = await newKey(userId, { expires_at: new Date(Date.now() + 1500).toISOString() });
    await chat(soon.key);
    await new Promise((done) => setTimeout(done, 1600));
    await expect(chat(soon.key)).rejects.toMatchObject({ status: 401 });

    const live = await newKey(userId);
    await chat(live.key);
    expect((await call(ADMIN_KEY, 'POST', `/admin/users/${userId}/disable`)).status).toBe(200);
    await expect(chat(live.key)).rejects.toMatchObject({ status: 401 });
    expect((await call(ADMIN_KEY, 'POST', `/admin/users/${userId}/enable`)).status).toBe(200);
    expect((await chat(live.key)).choices).toHaveLength(1);
  });
});
