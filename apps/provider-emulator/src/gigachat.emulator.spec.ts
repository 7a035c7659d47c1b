import { randomUUID } from 'node:crypto';
import { DEFAULT_GIGACHAT_AUTH_KEY } from './emulator-defaults';
import { ANSWER_PADDING, countTokens, embeddingVector } from './deterministic-answer';
import type { RunningEmulator } from './emulator-test-kit';
import { postJson, readJson, readSse, startEmulator } from './emulator-test-kit';
import { GIGACHAT_BLACKLIST_TEXT } from './gigachat.emulator';

const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const orderFunction = {
  name: 'get_order_status',
  description: 'Order status',
  parameters: { type: 'object', properties: { order_id: { type: 'string' } }, required: ['order_id'] },
};

describe('GigaChat emulator', () => {
  let running: RunningEmulator;
  let api: string;
  let oauthUrl: string;

  const oauth = (headers: Record<string, string> = {}, body = 'scope=GIGACHAT_API_PERS') =>
    fetch(oauthUrl, {
      method: 'POST',
      headers: {
        authorization: `Basic ${DEFAULT_GIGACHAT_AUTH_KEY}`,
        rquid: randomUUID(),
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...headers,
      },
      body,
    });
  const token = async (headers: Record<string, string> = {}): Promise<string> =>
    (await readJson(await oauth(headers))).access_token;
  const chat = (accessToken: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    postJson(`${api}/chat/completions`, body, { authorization: `Bearer ${accessToken}`, ...headers });
  const hello = (content = 'Hello there') => ({ model: 'GigaChat', messages: [{ role: 'user', content }] });
  const stats = async () => (await readJson(await fetch(`${running.base}/_emulator/stats`))).gigachat;

  beforeAll(async () => {
    running = await startEmulator();
    api = `${running.base}/gigachat/api/v1`;
    oauthUrl = `${running.base}/gigachat/api/v2/oauth`;
  });
  beforeEach(() => postJson(`${running.base}/_emulator/reset`, {}));
  afterAll(() => running.close());

  describe('OAuth', () => {
    it('should issue a ~1 KB token with expires_at in milliseconds, 30 minutes ahead', async () => {
      const before = Date.now();
      const res = await oauth();
      expect(res.status).toBe(200);
      const body = await readJson(res);
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_at']);
      expect(body.access_token.length).toBe(1024);
      expect(body.expires_at).toBeGreaterThanOrEqual(before + 30 * 60 * 1000);
      expect(body.expires_at).toBeLessThanOrEqual(Date.now() + 30 * 60 * 1000);
      expect((await stats()).oauthTokensIssued).toBe(1);
    });

    it.each([
      ['a missing RqUID', { rquid: '' }, undefined, 400, undefined],
      ['a non-base64 key', { authorization: 'Basic not base64!' }, undefined, 401, 4],
      ['a Bearer scheme', { authorization: `Bearer ${DEFAULT_GIGACHAT_AUTH_KEY}` }, undefined, 401, 4],
      ['a wrong key', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, undefined, 401, 6],
      ['an empty scope', {}, 'scope=', 400, 5],
      ['an unknown scope', {}, 'scope=GIGACHAT_API_FREE', 400, 1],
    ])('should refuse %s', async (_title, headers: Record<string, string>, body, status, code) => {
      const res = await oauth(headers, body);
      expect(res.status).toBe(status);
      const json = await readJson(res);
      if (code !== undefined) expect(json.code).toBe(code);
      expect(typeof json.message).toBe('string');
      expect((await stats()).oauthTokensIssued).toBe(0);
    });

    it('should state the OAuth error messages of the docs', async () => {
      const wrong = await oauth({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
      expect(await readJson(wrong)).toEqual({ code: 6, message: "credentials doesn't match db data" });
      expect(await readJson(await oauth({}, 'scope='))).toEqual({ code: 5, message: 'scope is empty' });
      expect(await readJson(await oauth({ authorization: 'Basic ***' }))).toEqual({
        code: 4,
        message: "Can't decode 'Authorization' header",
      });
    });

    it('should accept every documented scope', async () => {
      for (const scope of ['GIGACHAT_API_PERS', 'GIGACHAT_API_B2B', 'GIGACHAT_API_CORP']) {
        expect((await oauth({}, `scope=${scope}`)).status).toBe(200);
      }
    });
  });

  describe('chat', () => {
    it('should refuse a missing or unknown token with {status:401, message:"Unauthorized"}', async () => {
      for (const accessToken of ['', 'unknown']) {
        const res = await chat(accessToken, hello());
        expect(res.status).toBe(401);
        expect(await readJson(res)).toEqual({ status: 401, message: 'Unauthorized' });
      }
    });

    it('should answer without id, with a versioned model, usage and request ids', async () => {
      const res = await chat(await token(), hello(), { 'x-request-id': 'req-1' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(res.headers.get('x-request-id')).toBe('req-1');
      expect(res.headers.get('x-session-id')).toMatch(UUID);
      const body = await readJson(res);
      expect(body).toEqual({
        choices: [{ message: { role: 'assistant', content: HELLO_ANSWER }, index: 0, finish_reason: 'stop' }],
        created: expect.any(Number),
        model: 'GigaChat:2.0.28.2',
        object: 'chat.completion',
        usage: { prompt_tokens: 2, completion_tokens: 8, total_tokens: 10, precached_prompt_tokens: 0 },
      });
      expect(Math.abs(Number(body.created) - Date.now() / 1000)).toBeLessThan(5);
    });

    it('should answer 422 when the system message is not first, and 404 for an unknown model', async () => {
      const accessToken = await token();
      const misplaced = await chat(accessToken, {
        model: 'GigaChat-2-Max',
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'system', content: 'Be brief' },
        ],
      });
      expect(misplaced.status).toBe(422);
      expect(await readJson(misplaced)).toEqual({
        status: 422,
        message: 'Invalid params: system message must be the first message',
      });
      const unknown = await chat(accessToken, { ...hello(), model: 'GigaChat-9' });
      expect(unknown.status).toBe(404);
      expect(await readJson(unknown)).toEqual({ status: 404, message: 'No such model' });
      const parts = await chat(accessToken, {
        model: 'GigaChat',
        messages: [{ role: 'user', content: [{ text: 'x' }] }],
      });
      expect(parts.status).toBe(422);
    });

    it('should stream as recorded: role in the first delta, empty-content finish event with usage, [DONE]', async () => {
      const res = await chat(await token(), { ...hello(), stream: true });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.headers.get('x-request-id')).toMatch(UUID);
      const { events, done } = await readSse(res);
      expect(done).toBe(true);
      expect(events).toHaveLength(8 + 1);
      expect(events.every((e) => e.object === 'chat.completion' && e.model === 'GigaChat:2.0.28.2')).toBe(true);
      expect(events.some((e) => e.id !== undefined)).toBe(false);
      const choices = events.map((e) => e.choices[0]);
      expect(choices[0].delta.role).toBe('assistant');
      expect(choices.slice(1).some((c) => c.delta.role !== undefined)).toBe(false);
      expect(
        choices
          .slice(0, 8)
          .map((c) => c.delta.content as string)
          .join(''),
      ).toBe(HELLO_ANSWER);
      expect(choices.slice(0, 8).some((c) => 'finish_reason' in c)).toBe(false);
      expect(choices[8]).toEqual({ delta: { content: '' }, index: 0, finish_reason: 'stop' });
      expect(events[8].usage).toEqual({
        prompt_tokens: 2,
        completion_tokens: 8,
        total_tokens: 10,
        precached_prompt_tokens: 0,
      });
    });

    it('should call a function with object arguments, then answer the function result', async () => {
      const accessToken = await token();
      const first = await readJson(await chat(accessToken, { ...hello('Where is A-17?'), functions: [orderFunction] }));
      expect(first.choices[0]).toEqual({
        message: {
          role: 'assistant',
          content: '',
          function_call: { name: 'get_order_status', arguments: { order_id: 'Where is A-17?' } },
          functions_state_id: expect.stringMatching(UUID),
        },
        index: 0,
        finish_reason: 'function_call',
      });
      const second = await chat(accessToken, {
        model: 'GigaChat',
        functions: [orderFunction],
        messages: [
          { role: 'user', content: 'Where is A-17?' },
          { role: 'assistant', content: '', function_call: first.choices[0].message.function_call },
          { role: 'function', name: 'get_order_status', content: '{"status":"in transit"}' },
        ],
      });
      const body = await readJson(second);
      expect(body.choices[0].message.content).toBe(`Tool result: {"status":"in transit"} ${ANSWER_PADDING}`);
      expect(body.choices[0].finish_reason).toBe('stop');
    });

    it('should honour function_call none and a forced name, and refuse a forced unknown name', async () => {
      const accessToken = await token();
      const none = await readJson(
        await chat(accessToken, { ...hello(), functions: [orderFunction], function_call: 'none' }),
      );
      expect(none.choices[0].message.content).toBe(HELLO_ANSWER);
      const forced = await readJson(
        await chat(accessToken, {
          ...hello(),
          functions: [orderFunction],
          function_call: { name: 'get_order_status' },
        }),
      );
      expect(forced.choices[0].finish_reason).toBe('function_call');
      const unknown = await chat(accessToken, { ...hello(), functions: [orderFunction], function_call: { name: 'x' } });
      expect(unknown.status).toBe(422);
    });

    it('should stream a function call as one complete event with finish_reason and usage', async () => {
      const res = await chat(await token(), { ...hello('A-17'), stream: true, functions: [orderFunction] });
      const { events, done } = await readSse(res);
      expect(done).toBe(true);
      expect(events).toHaveLength(1);
      const choice = events[0].choices[0];
      expect(choice.finish_reason).toBe('function_call');
      expect(choice.delta.function_call).toEqual({ name: 'get_order_status', arguments: { order_id: 'A-17' } });
      expect(events[0].usage).toMatchObject({ prompt_tokens: 1 });
    });
  });

  describe('other endpoints', () => {
    it('should list models with types and describe one', async () => {
      const headers = { authorization: `Bearer ${await token()}` };
      const list = await readJson(await fetch(`${api}/models`, { headers }));
      expect(list.object).toBe('list');
      expect(list.data).toContainEqual({
        id: 'GigaChat-2-Max',
        object: 'model',
        owned_by: 'salutedevices',
        type: 'chat',
      });
      expect(list.data).toContainEqual({
        id: 'Embeddings',
        object: 'model',
        owned_by: 'salutedevices',
        type: 'embedder',
      });
      const one = await readJson(await fetch(`${api}/models/GigaChat-2-Pro`, { headers }));
      expect(one).toEqual({ id: 'GigaChat-2-Pro', object: 'model', owned_by: 'salutedevices', type: 'chat' });
      expect((await fetch(`${api}/models/nope`, { headers })).status).toBe(404);
    });

    it('should embed with usage per item and count tokens as a top-level array', async () => {
      const headers = { authorization: `Bearer ${await token()}` };
      const embeddings = await readJson(
        await postJson(`${api}/embeddings`, { model: 'Embeddings', input: ['text one', 'two'] }, headers),
      );
      expect(embeddings).toEqual({
        object: 'list',
        model: 'Embeddings',
        data: [
          { object: 'embedding', index: 0, embedding: embeddingVector('text one'), usage: { prompt_tokens: 2 } },
          { object: 'embedding', index: 1, embedding: embeddingVector('two'), usage: { prompt_tokens: 1 } },
        ],
      });
      const counted = await readJson(
        await postJson(`${api}/tokens/count`, { model: 'GigaChat', input: ['First text', 'Second'] }, headers),
      );
      expect(counted).toEqual([
        { object: 'tokens', tokens: 2, characters: 10 },
        { object: 'tokens', tokens: 1, characters: 6 },
      ]);
      expect((await postJson(`${api}/embeddings`, { model: 'GigaChat', input: ['x'] }, headers)).status).toBe(404);
    });
  });

  describe('faults and tokens', () => {
    it('should expire the presented token once and spare the token of the refresh', async () => {
      const first = await token();
      const expired = await chat(first, hello('Hello there [[fault:expire-token]]'));
      expect(expired.status).toBe(401);
      expect(await readJson(expired)).toEqual({ status: 401, message: 'Unauthorized' });
      expect((await chat(first, hello())).status).toBe(401);

      const refreshed = await token();
      const retried = await chat(refreshed, hello('Hello there [[fault:expire-token]]'));
      expect(retried.status).toBe(200);
      expect((await readJson(retried)).choices[0].message.content).toBe(HELLO_ANSWER);
      expect((await chat(refreshed, hello('again [[fault:expire-token]]'))).status).toBe(401);
      expect((await stats()).oauthTokensIssued).toBe(2);
    });

    it('should reject on first use a token issued under an expire-token OAuth fault', async () => {
      const doomed = await token({ 'x-emulator-fault': 'expire-token' });
      expect((await chat(doomed, hello())).status).toBe(401);
      expect((await chat(await token(), hello())).status).toBe(200);
    });

    it('should expire tokens after the configured TTL', async () => {
      const shortLived = await startEmulator({ gigachatTokenTtlMs: 50 });
      try {
        const res = await fetch(`${shortLived.base}/gigachat/api/v2/oauth`, {
          method: 'POST',
          headers: { authorization: `Basic ${DEFAULT_GIGACHAT_AUTH_KEY}`, rquid: randomUUID() },
          body: 'scope=GIGACHAT_API_PERS',
        });
        const { access_token: accessToken, expires_at: expiresAt } = await readJson(res);
        expect(Number(expiresAt) - Date.now()).toBeLessThanOrEqual(50);
        const call = () =>
          postJson(`${shortLived.base}/gigachat/api/v1/chat/completions`, hello(), {
            authorization: `Bearer ${accessToken}`,
          });
        expect((await call()).status).toBe(200);
        await new Promise((resolve) => setTimeout(resolve, 80));
        expect((await call()).status).toBe(401);
      } finally {
        await shortLived.close();
      }
    });

    it('should answer injected statuses with the GigaChat body and Retry-After', async () => {
      const res = await chat(await token(), hello(), { 'x-emulator-fault': 'status=429,retry-after=3' });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('3');
      expect(await readJson(res)).toEqual({ status: 429, message: 'Too many requests' });
      const paid = await chat(await token(), hello('x [[fault:status=402]]'));
      expect(await readJson(paid)).toEqual({ status: 402, message: 'Payment Required' });
    });

    it('should truncate a stream and end it without the finish event or [DONE]', async () => {
      const { events, done } = await readSse(
        await chat(await token(), { ...hello('Hi [[fault:truncate-after=2]]'), stream: true }),
      );
      expect(done).toBe(false);
      expect(events).toHaveLength(2);
      expect(events.some((e) => e.usage !== undefined)).toBe(false);
    });

    it('should answer blacklist with the canned text on content-filter', async () => {
      const body = await readJson(await chat(await token(), hello('Hi [[fault:content-filter]]')));
      expect(body.choices[0]).toEqual({
        message: { role: 'assistant', content: GIGACHAT_BLACKLIST_TEXT },
        index: 0,
        finish_reason: 'blacklist',
      });
      expect(body.usage.completion_tokens).toBe(countTokens(GIGACHAT_BLACKLIST_TEXT));
    });

    it('should fault OAuth only through an admin entry with route /oauth', async () => {
      await postJson(`${running.base}/_emulator/faults`, { provider: 'gigachat', fault: 'status=503' });
      expect((await oauth()).status).toBe(200);
      await fetch(`${running.base}/_emulator/faults`, { method: 'DELETE' });
      await postJson(`${running.base}/_emulator/faults`, {
        provider: 'gigachat',
        fault: 'status=500',
        route: '/oauth',
      });
      const failed = await oauth();
      expect(failed.status).toBe(500);
      expect(await readJson(failed)).toEqual({ code: 500, message: 'Internal Server Error' });
      const s = await stats();
      expect(s.routes['POST /oauth']).toBe(2);
      expect(s.oauthTokensIssued).toBe(1);
    });
  });
});
