import OpenAI from 'openai';
import type { UsageReportRow } from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-usage-0123456789ab';

/** What /admin/usage and /account/usage answer: the report service's rows, as JSON. */
type ReportRow = UsageReportRow;

/** Every request is one usage row, priced from the routing config, reported per key, model and user. */
describe('usage rows and reports through the running gateway', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, USAGE_FLUSH_INTERVAL_MS: '200' });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  async function api<T>(key: string, method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as T;
  }

  async function reportEventually(key: string, query: string, requests: number): Promise<ReportRow[]> {
    for (let i = 0; i < 50; i++) {
      const rows = await api<ReportRow[]>(key, 'GET', `${query}`);
      if (rows.reduce((n, r) => n + r.requests, 0) >= requests) return rows;
      await new Promise((r) => setTimeout(r, 100));
    }
    return api<ReportRow[]>(key, 'GET', query);
  }

  it('should record one row per request with tokens and cost to the kopeck, and report it per model', async () => {
    const user = await api<{ id: string }>(ADMIN_KEY, 'POST', '/admin/users', {
      email: 'usage@example.com',
      role: 'user',
    });
    const { id: keyId, key } = await api<{ id: string; key: string }>(ADMIN_KEY, 'POST', '/admin/api-keys', {
      name: 'usage',
      user_id: user.id,
    });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // mws-gpt-alpha costs 0.15 / 0.3 RUB per 1k tokens; each answer is 2 prompt + 8 completion tokens.
    for (let i = 0; i < 5; i++)
      await client.chat.completions.create({
        model: 'mws-gpt-alpha',
        messages: [{ role: 'user', content: 'hello there' }],
      });
    const stream = await client.chat.completions.create({
      model: 'mws-gpt-alpha',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
    });
    for await (const chunk of stream) void chunk;
    await expect(
      client.chat.completions.create({
        model: 'mws-gpt-alpha',
        messages: [{ role: 'user', content: 'x [[fault:status=503]]' }],
      }),
    ).rejects.toMatchObject({ status: 502 });

    const rows = await reportEventually(ADMIN_KEY, `/admin/usage?key_id=${keyId}&group_by=model`, 7);
    expect(rows).toEqual([
      expect.objectContaining({
        group: 'mws-gpt-alpha',
        requests: 7,
        errors: 1,
        promptTokens: 12,
        completionTokens: 48,
        totalTokens: 60,
        // 12 × 0.15/1000 + 48 × 0.3/1000 = 0.0018 + 0.0144
        costRub: '0.016200000',
      }),
    ]);

    const own = await reportEventually(key, '/account/usage?group_by=key', 7);
    expect(own).toEqual([expect.objectContaining({ group: keyId, requests: 7 })]);
    const adminView = await api<ReportRow[]>(ADMIN_KEY, 'GET', '/admin/usage?group_by=user');
    expect(adminView.length).toBeGreaterThanOrEqual(1);
    expect((await api<ReportRow[]>(key, 'GET', '/account/usage')).reduce((n, r) => n + r.requests, 0)).toBe(7);
  });

  it('should refuse a key over its 1,000-token monthly budget with insufficient_quota, and show the spend', async () => {
    const user = await api<{ id: string }>(ADMIN_KEY, 'POST', '/admin/users', {
      email: 'budget@example.com',
      role: 'user',
    });
    const { id, key } = await api<{ id: string; key: string }>(ADMIN_KEY, 'POST', '/admin/api-keys', {
      name: 'b',
      user_id: user.id,
    });
    await api(ADMIN_KEY, 'PUT', `/admin/api-keys/${id}/budget`, { monthly_token_budget: 1000 });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // 150 words in, "Echo:" + the same 150 words out: 301 tokens a request; the 4th crosses 1,000.
    const words = Array.from({ length: 150 }, (_, i) => `w${i}`).join(' ');
    for (let i = 0; i < 4; i++) {
      await client.chat.completions.create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: words }] });
      await new Promise((r) => setTimeout(r, 50));
    }
    const refused = await client.chat.completions
      .create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: words }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect(refused).toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });

    const budget = await api<Array<{ scope: string; tokens: { limit: number; spent: number } }>>(
      key,
      'GET',
      '/account/budget',
    );
    expect(budget).toEqual([expect.objectContaining({ scope: 'key', tokens: { limit: 1000, spent: 1204 } })]);
    const rows = await reportEventually(ADMIN_KEY, `/admin/usage?key_id=${id}`, 5);
    expect(rows[0]).toMatchObject({ requests: 5, errors: 1, totalTokens: 1204 });
  });

  it('should refuse every key of a user over their RUB budget', async () => {
    const user = await api<{ id: string }>(ADMIN_KEY, 'POST', '/admin/users', {
      email: 'rub@example.com',
      role: 'user',
    });
    const first = await api<{ key: string }>(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'one', user_id: user.id });
    const second = await api<{ key: string }>(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'two', user_id: user.id });
    await api(ADMIN_KEY, 'PUT', `/admin/users/${user.id}/budget`, { monthly_budget_rub: '0.001' });
    const ask = (key: string) =>
      new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({
        model: 'mws-gpt-alpha',
        messages: [{ role: 'user', content: 'hello there' }],
      });
    await ask(first.key); // 0.0027 RUB: over the 0.001 budget once recorded
    await new Promise((r) => setTimeout(r, 50));
    await expect(ask(second.key)).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
  });

  it('should record the end user a request names (user, else safety_identifier) on every route, and report by it', async () => {
    const { id: keyId, key } = await api<{ id: string; key: string }>(ADMIN_KEY, 'POST', '/admin/api-keys', {
      name: 'end users',
    });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'user' as const, content: 'hello there' }];
    await client.chat.completions.create({ model: 'GigaChat-2', messages, user: 'shop-alice' });
    const stream = await client.chat.completions.create({
      model: 'mws-gpt-alpha',
      messages,
      user: 'shop-alice',
      stream: true,
    });
    for await (const chunk of stream) void chunk;
    await client.embeddings.create({ model: 'bge-m3', input: 'hi', user: 'shop-bob' });
    await client.responses.create({ model: 'yandexgpt', input: 'hi', safety_identifier: 'shop-bob', store: false });
    await client.chat.completions.create({ model: 'GigaChat-2', messages });
    const rows = await reportEventually(ADMIN_KEY, `/admin/usage?key_id=${keyId}&group_by=end_user`, 5);
    expect(new Map(rows.map((r) => [r.group, r.requests]))).toEqual(
      new Map<string | null, number>([
        ['shop-alice', 2],
        ['shop-bob', 2],
        [null, 1],
      ]),
    );
    const bob = await api<ReportRow[]>(
      ADMIN_KEY,
      'GET',
      `/admin/usage?key_id=${keyId}&end_user=shop-bob&group_by=model`,
    );
    expect(bob.map((r) => [r.group, r.requests]).sort()).toEqual([
      ['bge-m3', 1],
      ['yandexgpt', 1],
    ]);
  });

  it('should export CSV and refuse bad filters in the OpenAI envelope', async () => {
    const res = await fetch(`${gateway.url}/admin/usage?group_by=model&format=csv`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    expect((await res.text()).split('\n')[0]).toContain('requests');
    const bad = await fetch(`${gateway.url}/admin/usage?group_by=planet`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('group_by');
  });
});
