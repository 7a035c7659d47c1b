import OpenAI from 'openai';
import type { UsageReportRow } from '@xrouter/usage';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startEmulator, startGateway, writeRoutingConfig } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-pricing-0123456789';

type Usage = {
  prompt_tokens: number;
  completion_tokens: number;
  cost_rub?: string;
  prompt_tokens_details?: { cached_tokens?: number };
};

/** RUB for `usage` at a price per 1,000 tokens, to the nano-rouble (prices here have at most 2 decimals). */
function expectedCost(usage: Usage, promptPer1k: number, completionPer1k: number): string {
  const centsPer1k = (p: number) => BigInt(Math.round(p * 100));
  const nanos =
    (BigInt(usage.prompt_tokens) * centsPer1k(promptPer1k) +
      BigInt(usage.completion_tokens) * centsPer1k(completionPer1k)) *
    10_000n;
  return `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/** The admin API and usage reports of one running gateway. */
function adminOf(gateway: RunningProcess) {
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as T;
  };
  const newKey = async (name: string, budgetRub?: string): Promise<{ id: string; key: string }> => {
    const created = await api<{ id: string; key: string }>('POST', '/admin/api-keys', { name });
    if (budgetRub) await api('PUT', `/admin/api-keys/${created.id}/budget`, { monthly_budget_rub: budgetRub });
    return created;
  };
  /** The key's usage per model, once `requests` rows have been written. */
  const usageByModel = async (keyId: string, requests: number): Promise<Map<string | null, UsageReportRow>> => {
    let rows: UsageReportRow[] = [];
    for (let i = 0; i < 50; i++) {
      rows = await api<UsageReportRow[]>('GET', `/admin/usage?key_id=${keyId}&group_by=model`);
      if (rows.reduce((n, r) => n + r.requests, 0) >= requests) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return new Map(rows.map((row) => [row.group, row]));
  };
  return { api, newKey, usageByModel };
}

const chatBody = (model: string, content = 'hello there') => ({ model, messages: [{ role: 'user', content }] });

async function chat(gateway: RunningProcess, key: string, body: unknown): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A key over its RUB budget is refused: every call it makes must cost something, whichever way it names the model. */
async function expectRefusedAfterFirstCall(gateway: RunningProcess, key: string, model: string): Promise<void> {
  const first = await chat(gateway, key, chatBody(model));
  expect(first.status).toBe(200);
  expect(Number(first.headers.get('x-xrouter-cost-rub'))).toBeGreaterThan(0.001);
  // The spend is counted once the answer is out; give the budget counter a moment, as a client's next call would.
  await new Promise((r) => setTimeout(r, 100));
  const refused = await chat(gateway, key, chatBody(model));
  expect(refused.status).toBe(429);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('insufficient_quota');
}

describe('every request is billed: the shipped config on the bundled emulators', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let admin: ReturnType<typeof adminOf>;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, USAGE_FLUSH_INTERVAL_MS: '200' });
    admin = adminOf(gateway);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should bill a direct provider/model call from the provider price list, in the header and the usage row', async () => {
    const { id, key } = await admin.newKey('direct');
    const response = await chat(gateway, key, chatBody('gigachat/GigaChat-2-Max'));
    expect(response.status).toBe(200);
    const { usage } = (await response.json()) as { usage: Usage };
    // GigaChat-2-Max: 1.95 RUB per 1,000 tokens either way.
    const cost = expectedCost(usage, 1.95, 1.95);
    expect(Number(cost)).toBeGreaterThan(0);
    expect(response.headers.get('x-xrouter-cost-rub')).toBe(cost);
    expect((await admin.usageByModel(id, 1)).get('gigachat/GigaChat-2-Max')).toMatchObject({ costRub: cost });
  });

  it('should bill the smart model at the price of the deployment that served it', async () => {
    const { id, key } = await admin.newKey('smart');
    const response = await chat(gateway, key, chatBody('smart'));
    expect(response.headers.get('x-xrouter-provider')).toBe('gigachat');
    const { usage } = (await response.json()) as { usage: Usage };
    const cost = expectedCost(usage, 1.95, 1.95);
    expect(response.headers.get('x-xrouter-cost-rub')).toBe(cost);
    expect((await admin.usageByModel(id, 1)).get('smart')).toMatchObject({ costRub: cost });
  });

  it('should put the cost of an embeddings request in its header', async () => {
    const { key } = await admin.newKey('embed');
    const response = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'bge-m3', input: 'a few words to embed' }),
    });
    expect(response.status).toBe(200);
    const { usage } = (await response.json()) as { usage: { prompt_tokens: number } };
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-xrouter-cost-rub')).toBe(
      expectedCost({ prompt_tokens: usage.prompt_tokens, completion_tokens: 0 }, 0.01, 0),
    );
  });

  it('should send cost_rub in the usage chunk of a stream that asked for usage', async () => {
    const { key } = await admin.newKey('stream');
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'cheap',
      messages: [{ role: 'user', content: 'hello there' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: Usage | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    // cheap serves from yandexgpt-lite first: 0.2 RUB per 1,000 tokens either way.
    expect(usage?.cost_rub).toBe(expectedCost(usage!, 0.2, 0.2));
    expect(Number(usage?.cost_rub)).toBeGreaterThan(0);
  });

  it('should refuse a key with a 0.001 RUB budget after its first call via smart', async () => {
    const { key } = await admin.newKey('budget-smart', '0.001');
    await expectRefusedAfterFirstCall(gateway, key, 'smart');
  });

  it('should refuse a key with a 0.001 RUB budget after its first direct provider/model call', async () => {
    const { key } = await admin.newKey('budget-direct', '0.001');
    await expectRefusedAfterFirstCall(gateway, key, 'yandex/yandexgpt-lite');
  });

  it('should refuse a direct call to an upstream model priced nowhere with a 400 naming model', async () => {
    const { key } = await admin.newKey('unpriced');
    const response = await chat(gateway, key, chatBody('gigachat/GigaChat-Max'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'model', code: 'invalid_request' } });
  });
});

describe('a fallback is billed at the price of the deployment that answered', () => {
  let db: TestDatabase;
  let emulator: RunningProcess;
  let gateway: RunningProcess;
  let admin: ReturnType<typeof adminOf>;

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
  - id: tbank
    type: openai
    profile: tbank
    base_url: ${emulator.url}/tbank/v1
    accounts: [{ id: main, api_key: emulator-tbank-key }]
    pricing:
      t-tech/T-lite-it-2.1: { prompt_per_1k: 2, completion_per_1k: 4 }
models:
  - name: thrifty
    deployments:
      - { provider: mts, model: mws-gpt-alpha }
      - { provider: tbank, model: t-tech/T-lite-it-2.1 }
`);
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      USAGE_FLUSH_INTERVAL_MS: '200',
      XROUTER_CONFIG: config,
    });
    admin = adminOf(gateway);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await emulator?.stop();
    await db?.drop();
  });

  const emulatorRequests = async (provider: 'mts' | 'tbank'): Promise<number> =>
    ((await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as Record<string, { requests: number }>)[provider]
      .requests;

  it('should bill a request served by the dearer fallback at the fallback price', async () => {
    const faulted = await fetch(`${emulator.url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'mts', fault: 'status=503', count: 1 }),
    });
    expect(faulted.status).toBe(201);
    const { id, key } = await admin.newKey('fallback');
    const response = await chat(gateway, key, chatBody('thrifty'));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-xrouter-provider')).toBe('tbank');
    const { usage } = (await response.json()) as { usage: Usage };
    const cost = expectedCost(usage, 2, 4);
    expect(response.headers.get('x-xrouter-cost-rub')).toBe(cost);
    expect((await admin.usageByModel(id, 1)).get('thrifty')).toMatchObject({ costRub: cost });
  });

  it('should refuse an unpriced direct call before sending anything upstream', async () => {
    const { key } = await admin.newKey('unpriced');
    const before = await emulatorRequests('mts');
    const response = await chat(gateway, key, chatBody('mts/some-unpriced-model'));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { param: 'model' } });
    expect(await emulatorRequests('mts')).toBe(before);
    // The same upstream model, priced by the provider list, goes through.
    expect((await chat(gateway, key, chatBody('mts/mws-gpt-alpha'))).status).toBe(200);
    expect(await emulatorRequests('mts')).toBe(before + 1);
  });
});

describe("GigaChat's cached prompt tokens are billed at the cached price", () => {
  let db: TestDatabase;
  let emulator: RunningProcess;
  let gateway: RunningProcess;
  let admin: ReturnType<typeof adminOf>;

  beforeAll(async () => {
    db = await createTestDatabase();
    emulator = await startEmulator();
    const config = writeRoutingConfig(`
providers:
  - id: gigachat
    type: gigachat
    base_url: ${emulator.url}/gigachat/api/v1
    auth_url: ${emulator.url}/gigachat/api/v2/oauth
    accounts: [{ id: main, auth_key: ${DEFAULT_GIGACHAT_AUTH_KEY} }]
    pricing:
      GigaChat-2: { prompt_per_1k: 2, completion_per_1k: 4, cached_prompt_per_1k: 0.5 }
models:
  - name: giga
    deployments: [{ provider: gigachat, model: GigaChat-2 }]
`);
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, XROUTER_CONFIG: config });
    admin = adminOf(gateway);
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await emulator?.stop();
    await db?.drop();
  });

  it('should bill the cached part of a session prompt at cached_prompt_per_1k and the rest at prompt_per_1k', async () => {
    const { key } = await admin.newKey('cached');
    const ask = (messages: Array<{ role: string; content: string }>) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'x-session-id': 'bill-1' },
        body: JSON.stringify({ model: 'giga', messages }),
      });
    const first = [{ role: 'user', content: 'Расскажи про кэширование контекста' }];
    const answer = (await (await ask(first)).json()) as { choices: Array<{ message: { content: string } }> };
    const second = await ask([
      ...first,
      { role: 'assistant', content: answer.choices[0].message.content },
      { role: 'user', content: 'И ещё раз' },
    ]);
    const { usage } = (await second.json()) as { usage: Usage };
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(0);
    const nanos =
      BigInt(usage.prompt_tokens - cached) * 2_000_000n +
      BigInt(cached) * 500_000n +
      BigInt(usage.completion_tokens) * 4_000_000n;
    const expected = `${nanos / 1_000_000_000n}.${(nanos % 1_000_000_000n).toString().padStart(9, '0')}`;
    expect(second.headers.get('x-xrouter-cost-rub')).toBe(expected);
  });
});
