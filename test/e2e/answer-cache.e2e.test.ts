import type { UsageReportRow } from '@xrouter/usage';
import { callApi } from '../support/api';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startEmulator, startGateway, writeRoutingConfig } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-answer-cache-0123456789';
const TTL_MS = 3_000;

/** The exact answer cache against an emulator whose requests the test counts. */
describe('answer cache: identical non-streamed requests of one key', () => {
  let db: TestDatabase;
  let emulator: RunningProcess;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    emulator = await startEmulator();
    const config = writeRoutingConfig(`
providers:
  - id: mts
    type: openai
    profile: mts
    base_url: ${emulator.url}/mts/v1
    accounts: [{ id: main, api_key: emulator-mts-key }]
    pricing:
      mws-gpt-alpha: { prompt_per_1k: 0.15, completion_per_1k: 0.3 }
models:
  - name: alpha
    deployments:
      - { provider: mts, model: mws-gpt-alpha }
`);
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      USAGE_FLUSH_INTERVAL_MS: '200',
      XROUTER_CONFIG: config,
      ANSWER_CACHE_TTL_MS: String(TTL_MS),
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await emulator?.stop();
    await db?.drop();
  });

  const upstreamRequests = async (): Promise<number> =>
    ((await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { mts: { requests: number } }).mts.requests;

  const newKey = async (name: string, cache?: boolean) => {
    const created = await callApi<{ id: string; key: string; cache: boolean }>(
      gateway.url,
      ADMIN_KEY,
      'POST',
      '/admin/api-keys',
      { name, ...(cache === undefined ? {} : { cache }) },
    );
    expect(created.status).toBe(201);
    return created.json;
  };

  const post = (key: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  const chat = (key: string, content: string, headers?: Record<string, string>, extra: object = {}) =>
    post(key, '/v1/chat/completions', { model: 'alpha', messages: [{ role: 'user', content }], ...extra }, headers);

  it('should answer a key with cache on from the store the second time: no upstream call, 0 RUB, one hit row', async () => {
    const { id, key, cache } = await newKey('cached', true);
    expect(cache).toBe(true);
    const before = await upstreamRequests();
    const first = await chat(key, 'cache me');
    expect(first.headers.get('x-xrouter-cache')).toBe('miss');
    expect(Number(first.headers.get('x-xrouter-cost-rub'))).toBeGreaterThan(0);
    const answer = (await first.json()) as { choices: unknown };
    // The same request spelt otherwise (keys in another order) is the same request.
    const second = await post(key, '/v1/chat/completions', {
      messages: [{ content: 'cache me', role: 'user' }],
      model: 'alpha',
    });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-xrouter-cache')).toBe('hit');
    expect(Number(second.headers.get('x-xrouter-cost-rub'))).toBe(0);
    expect(second.headers.get('x-xrouter-provider')).toBe('mts');
    expect(((await second.json()) as { choices: unknown }).choices).toEqual(answer.choices);
    expect(await upstreamRequests()).toBe(before + 1);

    // Another parameter is another request.
    expect((await chat(key, 'cache me', {}, { temperature: 0.1 })).headers.get('x-xrouter-cache')).toBe('miss');
    // skip bypasses the key's setting.
    const skipped = await chat(key, 'cache me', { 'x-xrouter-cache': 'skip' });
    expect(skipped.headers.get('x-xrouter-cache')).toBeNull();
    expect(await upstreamRequests()).toBe(before + 3);

    let rows: UsageReportRow[] = [];
    for (let i = 0; i < 50 && rows.reduce((n, r) => n + r.requests, 0) < 4; i++) {
      await new Promise((r) => setTimeout(r, 100));
      rows = (
        await callApi<UsageReportRow[]>(gateway.url, ADMIN_KEY, 'GET', `/admin/usage?key_id=${id}&group_by=provider`)
      ).json;
    }
    const cacheRow = rows.find((r) => r.group === 'cache');
    expect(cacheRow).toMatchObject({ requests: 1, promptTokens: 0, completionTokens: 0 });
    expect(Number(cacheRow?.costRub)).toBe(0);
  });

  it('should cache for a key without the setting only when the request says use, never across keys', async () => {
    const a = await newKey('a');
    const b = await newKey('b');
    const use = { 'x-xrouter-cache': 'use' };
    const before = await upstreamRequests();
    expect((await chat(a.key, 'per key', use)).headers.get('x-xrouter-cache')).toBe('miss');
    expect((await chat(a.key, 'per key', use)).headers.get('x-xrouter-cache')).toBe('hit');
    expect((await chat(b.key, 'per key', use)).headers.get('x-xrouter-cache')).toBe('miss');
    // Without the header and without the setting the cache is not asked.
    expect((await chat(a.key, 'per key')).headers.get('x-xrouter-cache')).toBeNull();
    expect(await upstreamRequests()).toBe(before + 3);
  });

  it('should serve legacy completions from the cache too, and miss once the TTL is over', async () => {
    const { key } = await newKey('legacy', true);
    const body = { model: 'alpha', prompt: 'legacy cached', max_tokens: 20 };
    const before = await upstreamRequests();
    expect((await post(key, '/v1/completions', body)).headers.get('x-xrouter-cache')).toBe('miss');
    const hit = await post(key, '/v1/completions', body);
    expect(hit.headers.get('x-xrouter-cache')).toBe('hit');
    expect(Number(hit.headers.get('x-xrouter-cost-rub'))).toBe(0);
    expect(await upstreamRequests()).toBe(before + 1);
    await new Promise((r) => setTimeout(r, TTL_MS + 200));
    expect((await post(key, '/v1/completions', body)).headers.get('x-xrouter-cache')).toBe('miss');
    expect(await upstreamRequests()).toBe(before + 2);
  });

  it('should not cache streams, and refuse an unknown x-xrouter-cache value by name', async () => {
    const { key } = await newKey('stream', true);
    const before = await upstreamRequests();
    for (let i = 0; i < 2; i++) {
      const res = await chat(key, 'a stream', {}, { stream: true });
      expect(res.headers.get('x-xrouter-cache')).toBeNull();
      await res.text();
    }
    expect(await upstreamRequests()).toBe(before + 2);
    const refused = await chat(key, 'x', { 'x-xrouter-cache': 'always' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { param: string } }).error.param).toBe('x-xrouter-cache');
  });
});
