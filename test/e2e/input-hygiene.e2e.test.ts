import { gzipSync } from 'node:zlib';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-hygiene-0123456789';

interface Envelope {
  error: { message: string; type: string; param: string | null; code: string };
}

/** Malformed input gets a 4xx in OpenAI's envelope naming the field, never a 500, and nothing is half-written. */
describe('input hygiene through the running gateway', () => {
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

  async function send(
    method: string,
    path: string,
    body?: string | Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string }> {
    const res = await fetch(`${gateway.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, text: await res.text() };
  }

  async function refused(method: string, path: string, body?: unknown, status = 400): Promise<Envelope['error']> {
    const res = await send(method, path, body === undefined ? undefined : JSON.stringify(body));
    expect({ path, status: res.status }).toEqual({ path, status });
    const envelope = JSON.parse(res.text) as Envelope;
    expect(Object.keys(envelope.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    return envelope.error;
  }

  const chat = (extra: object) => ({ model: 'GigaChat-2', messages: [{ role: 'user', content: 'hi' }], ...extra });

  it('should refuse a NUL character in names, emails and redirect URIs with a 400 naming the field', async () => {
    const user = await refused('POST', '/admin/users', { email: 'ok@example.com', name: 'a\u0000b', role: 'user' });
    expect(user.param).toBe('name');
    expect((await refused('POST', '/admin/users', { email: 'n\u0000l@example.com', role: 'user' })).param).toBe(
      'email',
    );
    expect((await refused('POST', '/admin/api-keys', { name: 'key\u0000' })).param).toBe('name');
    const client = { name: 'Acme', redirect_uris: ['https://acme.example/cb'], scopes: ['chat'] };
    expect((await refused('POST', '/admin/oauth-clients', { ...client, name: 'Ac\u0000me' })).param).toBe('name');
    const uris = ['https://acme.example/cb', 'https://acme.example/\u0000'];
    expect((await refused('POST', '/admin/oauth-clients', { ...client, redirect_uris: uris })).param).toBe(
      'redirect_uris',
    );
    // Nothing was written: only the bootstrap admin and its key exist, and no client.
    const users = JSON.parse((await send('GET', '/admin/users')).text) as Array<{ email: string }>;
    expect(users.filter((u) => u.email.includes('example.com'))).toEqual([]);
    const keys = JSON.parse((await send('GET', '/admin/api-keys')).text) as Array<{ name: string }>;
    expect(keys.map((k) => k.name)).toEqual(['bootstrap admin key']);
    expect(JSON.parse((await send('GET', '/admin/oauth-clients')).text)).toEqual([]);
  });

  it.each([
    ['POST', '/admin/api-keys', { name: 'typo', rpm: 5 }, 'rpm'],
    ['POST', '/admin/api-keys', { name: 'typo', monthly_budget: '10' }, 'monthly_budget'],
    ['POST', '/admin/users', { email: 'typo@example.com', role: 'user', budget_rub: 5 }, 'budget_rub'],
    ['POST', '/admin/oauth-clients', { name: 'Acme', redirect_uris: ['https://a.example/cb'], scope: 'chat' }, 'scope'],
    ['GET', '/admin/usage?from=2026-01-01&grup_by=model', undefined, 'grup_by'],
  ])('should refuse an undeclared field of %s %s by name, and create nothing', async (method, path, body, param) => {
    const before = (await send('GET', '/admin/api-keys')).text;
    const error = await refused(method, path, body);
    expect(error).toMatchObject({ param, message: `Unrecognized field '${param}'.` });
    expect((await send('GET', '/admin/api-keys')).text).toBe(before);
    expect(JSON.parse((await send('GET', '/admin/users')).text)).not.toContainEqual(
      expect.objectContaining({ email: 'typo@example.com' }),
    );
  });

  it.each([
    ['GET', '/admin/api-keys?user_id=abc', 'user_id'],
    ['GET', '/admin/api-keys/abc', 'id'],
    ['GET', '/admin/api-keys/------------------------------------', 'id'],
    ['DELETE', '/admin/api-keys/abc', 'id'],
    ['POST', '/admin/api-keys/abc/rotate', 'id'],
    ['GET', '/account/api-keys/------------------------------------', 'id'],
    ['GET', '/admin/users/abc', 'id'],
    ['GET', '/admin/users/------------------------------------', 'id'],
    ['POST', '/admin/users/------------------------------------/disable', 'id'],
    ['DELETE', '/admin/oauth-clients/abc', 'id'],
    ['GET', '/admin/usage?user_id=abc', 'user_id'],
    ['GET', '/admin/usage?key_id=------------------------------------', 'key_id'],
    // A NUL cannot be compared with a text column: a 400 naming the filter, not the database's error (a 500).
    ['GET', '/admin/usage?model=%00V', 'model'],
    ['GET', '/admin/usage?provider=a%00', 'provider'],
    ['GET', '/account/usage?end_user=%00', 'end_user'],
  ])('should answer %s %s with a 400 naming %s', async (method, path, param) => {
    expect((await refused(method, path)).param).toBe(param);
  });

  it.each([
    ['tool_choice without a function name', chat({ tool_choice: { type: 'function' } }), 'tool_choice'],
    ['tool_choice of an unknown mode', chat({ tool_choice: 'sometimes' }), 'tool_choice'],
    ['tool_choice as a number', chat({ tool_choice: 5 }), 'tool_choice'],
    [
      'an assistant tool call without its function',
      chat({
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function' }] },
          { role: 'tool', tool_call_id: 'call_1', content: '{}' },
        ],
      }),
      'messages[1].tool_calls[0].function',
    ],
    [
      'an assistant tool call that is not an object',
      chat({ messages: [{ role: 'assistant', content: null, tool_calls: [null] }] }),
      'messages[0].tool_calls',
    ],
    [
      'a tool call function without a name',
      chat({
        messages: [
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'c', type: 'function', function: { arguments: '{}' } }],
          },
        ],
      }),
      'messages[0].tool_calls[0].function.name',
    ],
  ])('should refuse %s with a 400 naming the param (GigaChat and Yandex)', async (_title, body, param) => {
    for (const model of ['GigaChat-2', 'yandexgpt-lite']) {
      expect((await refused('POST', '/v1/chat/completions', { ...body, model })).param).toBe(param);
    }
  });

  it('should refuse a JSON body nested 3,000 levels deep with a 400, on both kinds of route', async () => {
    const deep = `${'['.repeat(3000)}${']'.repeat(3000)}`;
    const chatBody = `{"model":"GigaChat-2","messages":[{"role":"user","content":"hi"}],"extra":${deep}}`;
    for (const [path, body] of [
      ['/v1/chat/completions', chatBody],
      ['/admin/users', `{"email":"deep@example.com","role":"user","name":${deep}}`],
    ]) {
      const res = await send('POST', path, body);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect((JSON.parse(res.text) as Envelope).error.code).toBe('invalid_json');
    }
  });

  it('should refuse a corrupt gzip body with a 400 and still read a good one', async () => {
    const garbage = Buffer.from('this is not gzip at all, just bytes');
    const truncated = gzipSync(JSON.stringify(chat({}))).subarray(0, 20);
    for (const path of ['/v1/chat/completions', '/admin/users']) {
      for (const body of [garbage, truncated]) {
        const res = await send('POST', path, body, { 'content-encoding': 'gzip' });
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect((JSON.parse(res.text) as Envelope).error).toMatchObject({ code: 'invalid_request', message: /gzip/ });
      }
    }
    const good = await send('POST', '/v1/chat/completions', gzipSync(JSON.stringify(chat({}))), {
      'content-encoding': 'gzip',
    });
    expect(good.status).toBe(200);
  });

  it('should neutralise a formula in a CSV export cell', async () => {
    const formula = '=HYPERLINK("https://evil.example","click")';
    expect((await send('POST', '/v1/chat/completions', JSON.stringify(chat({ model: formula })))).status).toBe(404);
    let csv = '';
    for (let i = 0; i < 50 && !csv.includes('HYPERLINK'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      csv = (await send('GET', '/admin/usage?group_by=model&format=csv')).text;
    }
    const line = csv.split('\r\n').find((l) => l.includes('HYPERLINK'));
    expect(line).toMatch(/^"'=HYPERLINK\(""https:\/\/evil\.example"",""click""\)",1,1,/);
  });
});
