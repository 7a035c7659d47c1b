import { DEFAULT_MTS_API_KEY, DEFAULT_TBANK_API_KEY } from './emulator-defaults';
import { ANSWER_PADDING } from './deterministic-answer';
import type { RunningEmulator } from './emulator-test-kit';
import { parseSse, postJson, readJson, readSse, startEmulator } from './emulator-test-kit';

const MTS_AUTH = { authorization: `Bearer ${DEFAULT_MTS_API_KEY}` };
const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;

describe('emulator server: faults, pacing and the admin API', () => {
  let running: RunningEmulator;
  let mts: string;

  const chat = (content: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
    postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', messages: [{ role: 'user', content }], ...extra },
      { ...MTS_AUTH, ...headers },
    );
  const stream = (content: string, headers: Record<string, string> = {}) =>
    chat(content, headers, { stream: true, stream_options: { include_usage: true } });
  const addFault = (body: Record<string, unknown>) => postJson(`${running.base}/_emulator/faults`, body);
  const statusesOf = async (n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await chat('Hi');
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    return statuses;
  };

  beforeAll(async () => {
    running = await startEmulator();
    mts = `${running.base}/mts/v1`;
  });
  beforeEach(async () => {
    expect((await fetch(`${running.base}/_emulator/reset`, { method: 'POST' })).status).toBe(200);
  });
  afterAll(() => running.close());

  describe('fault specs', () => {
    it('should answer status=429,retry-after=2 from the header with the provider error body and Retry-After', async () => {
      const res = await chat('Hi', { 'x-emulator-fault': 'status=429,retry-after=2' });
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('2');
      expect((await readJson(res)).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    });

    it('should take the fault from a [[fault:…]] directive in the last user message', async () => {
      const res = await chat('Hello [[fault:status=503]]');
      expect(res.status).toBe(503);
      expect((await readJson(res)).error.type).toBe('server_error');
    });

    it('should ignore directives in earlier messages and strip them from the echoed text', async () => {
      const res = await postJson(
        `${mts}/chat/completions`,
        {
          model: 'mws-gpt-alpha',
          messages: [
            { role: 'user', content: 'old [[fault:status=500]]' },
            { role: 'assistant', content: 'ok' },
            { role: 'user', content: 'Hello [[fault:slow-first-byte=1]] there' },
          ],
        },
        MTS_AUTH,
      );
      expect(res.status).toBe(200);
      expect((await readJson(res)).choices[0].message.content).toBe(HELLO_ANSWER);
    });

    it('should delay the first byte with slow-first-byte', async () => {
      const started = Date.now();
      const res = await chat('Hello there', { 'x-emulator-fault': 'slow-first-byte=150' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect((await readJson(res)).choices[0].message.content).toBe(HELLO_ANSWER);
    });

    it('should hang until the client aborts, and keep serving others', async () => {
      const started = Date.now();
      await expect(
        fetch(`${mts}/chat/completions`, {
          method: 'POST',
          headers: { ...MTS_AUTH, 'x-emulator-fault': 'hang' },
          body: JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Hi' }] }),
          signal: AbortSignal.timeout(300),
        }),
      ).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect((await chat('Hi')).status).toBe(200);
    });

    it('should reset the socket without a response', async () => {
      const error: unknown = await chat('Hi [[fault:reset]]').catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
      expect((error as Error & { cause: { code: string } }).cause.code).toMatch(/ECONNRESET|UND_ERR_SOCKET/);
    });

    it('should send half a JSON body with malformed-json', async () => {
      const res = await chat('Hello there', { 'x-emulator-fault': 'malformed-json' });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text.startsWith('{"id":"chatcmpl-emu-')).toBe(true);
      expect(() => JSON.parse(text) as unknown).toThrow(SyntaxError);
    });

    it('should put one broken SSE line in a stream with malformed-json', async () => {
      const res = await stream('Hello there', { 'x-emulator-fault': 'malformed-json' });
      const raw = await res.text();
      const lines = raw.split('\n\n').filter((line) => line !== '');
      expect(lines).toHaveLength(1 + 1 + 8 + 2 + 1);
      const broken = lines.filter((line) => {
        if (line === 'data: [DONE]') return false;
        try {
          JSON.parse(line.slice('data: '.length));
          return false;
        } catch {
          return true;
        }
      });
      expect(broken).toEqual([lines[1]]);
      expect(lines[lines.length - 1]).toBe('data: [DONE]');
    });

    it('should end a stream after n content chunks without finish or [DONE] with truncate-after', async () => {
      const res = await stream('Hello there [[fault:truncate-after=3]]');
      const { events, done } = await readSse(res);
      expect(done).toBe(false);
      expect(events).toHaveLength(1 + 3);
      expect(events.every((e) => e.choices[0].finish_reason === null)).toBe(true);
    });

    it('should cut a plain answer mid-body with truncate-after', async () => {
      const res = await chat('Hello there', { 'x-emulator-fault': 'truncate-after=1' });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    });

    it('should stop the answer with finish_reason content_filter', async () => {
      const body = await readJson(await chat('Hello there [[fault:content-filter]]'));
      expect(body.choices[0].message.content).toBe('Echo: Hello there The');
      expect(body.choices[0].finish_reason).toBe('content_filter');
    });

    it('should treat expire-token as 401 on an API-key provider', async () => {
      const res = await chat('Hi', { 'x-emulator-fault': 'expire-token,status=401' });
      expect(res.status).toBe(401);
      expect((await readJson(res)).error.code).toBe('invalid_api_key');
    });

    it('should answer 400 for an invalid fault spec', async () => {
      const res = await chat('Hi', { 'x-emulator-fault': 'boom' });
      expect(res.status).toBe(400);
      expect((await readJson(res)).error.message).toBe('Invalid emulator fault spec: unknown fault "boom"');
    });
  });

  describe('pacing', () => {
    it('should wait x-emulator-latency-ms before the head', async () => {
      const started = Date.now();
      const res = await chat('Hi', { 'x-emulator-latency-ms': '120' });
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
    });

    it('should space stream chunks by x-emulator-chunk-delay-ms and deliver them separately', async () => {
      const started = Date.now();
      const res = await stream('Hello there', { 'x-emulator-chunk-delay-ms': '25' });
      const decoder = new TextDecoder();
      let raw = '';
      let reads = 0;
      for await (const bytes of res.body as AsyncIterable<Uint8Array>) {
        raw += decoder.decode(bytes, { stream: true });
        reads++;
      }
      // 12 frames (role, 8 content, finish, usage, [DONE]) → 11 gaps
      expect(Date.now() - started).toBeGreaterThanOrEqual(25 * 11 - 10);
      expect(reads).toBeGreaterThanOrEqual(10);
      const { events, done } = parseSse(raw);
      expect(done).toBe(true);
      expect(events).toHaveLength(11);
    });

    it('should apply EMULATOR_LATENCY_MS from the options', async () => {
      const slow = await startEmulator({ latencyMs: 100 });
      try {
        const started = Date.now();
        const res = await postJson(
          `${slow.base}/mts/v1/chat/completions`,
          { model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Hi' }] },
          MTS_AUTH,
        );
        expect(res.status).toBe(200);
        expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      } finally {
        await slow.close();
      }
    });
  });

  describe('admin API', () => {
    it('should fail only the next `count` requests with an admin fault, then remove it', async () => {
      const added = await addFault({ provider: 'mts', fault: 'status=500', count: 2 });
      expect(added.status).toBe(201);
      expect(await readJson(added)).toEqual({
        id: expect.any(Number),
        provider: 'mts',
        fault: 'status=500',
        rate: 1,
        count: 2,
        route: null,
        seen: 0,
        fired: 0,
      });
      expect(await statusesOf(3)).toEqual([500, 500, 200]);
      expect(await readJson(await fetch(`${running.base}/_emulator/faults`))).toEqual({ faults: [] });
    });

    it('should fail every second request at rate 0.5 (counter-based)', async () => {
      await addFault({ provider: 'mts', fault: 'status=503', rate: 0.5 });
      expect(await statusesOf(6)).toEqual([200, 503, 200, 503, 200, 503]);
    });

    it('should apply an admin fault only to the routes matching `route` and only to its provider', async () => {
      await addFault({ provider: 'mts', fault: 'status=503', route: '/embeddings' });
      await addFault({ provider: 'tbank', fault: 'status=500' });
      expect((await chat('Hi')).status).toBe(200);
      const embedding = await postJson(`${mts}/embeddings`, { model: 'bge-m3', input: 'x' }, MTS_AUTH);
      expect(embedding.status).toBe(503);
      const tbank = await fetch(`${running.base}/tbank/v1/models`, {
        headers: { authorization: `Bearer ${DEFAULT_TBANK_API_KEY}` },
      });
      expect(tbank.status).toBe(500);
    });

    it('should let the request header win over an admin fault', async () => {
      await addFault({ provider: 'mts', fault: 'status=500' });
      const res = await chat('Hi', { 'x-emulator-fault': 'status=429' });
      expect(res.status).toBe(429);
    });

    it('should clear faults with DELETE', async () => {
      await addFault({ provider: 'mts', fault: 'status=500' });
      await addFault({ provider: 'mts', fault: 'reset' });
      const cleared = await fetch(`${running.base}/_emulator/faults`, { method: 'DELETE' });
      expect(await readJson(cleared)).toEqual({ cleared: 2 });
      expect((await chat('Hi')).status).toBe(200);
    });

    it('should reject invalid admin faults with 400', async () => {
      for (const body of [
        { provider: 'openai', fault: 'status=500' },
        { provider: 'mts', fault: 'status=200' },
        { provider: 'mts', fault: 'status=500', rate: 2 },
        { provider: 'mts', fault: 'status=500', count: 0 },
        { provider: 'mts' },
      ]) {
        const res = await addFault(body);
        expect(res.status).toBe(400);
        expect(typeof (await readJson(res)).error.message).toBe('string');
      }
    });

    it('should count requests per provider and route, faults included, and reset them', async () => {
      await chat('Hi');
      await chat('Hi [[fault:status=500]]');
      await fetch(`${mts}/models`, { headers: MTS_AUTH });
      await fetch(`${mts}/nowhere`, { headers: MTS_AUTH });
      const stats = await readJson(await fetch(`${running.base}/_emulator/stats`));
      expect(stats.mts).toEqual({
        requests: 4,
        routes: { 'POST /chat/completions': 2, 'GET /models': 1, unmatched: 1 },
        oauthTokensIssued: 0,
        faultsInjected: 1,
        functionStatesEchoed: 0,
      });
      expect(stats.tbank).toEqual({
        requests: 0,
        routes: {},
        oauthTokensIssued: 0,
        faultsInjected: 0,
        functionStatesEchoed: 0,
      });
      expect(Object.keys(stats).sort()).toEqual(['gigachat', 'mts', 'tbank', 'yandex']);

      await fetch(`${running.base}/_emulator/reset`, { method: 'POST' });
      const after = await readJson(await fetch(`${running.base}/_emulator/stats`));
      expect(after.mts.requests).toBe(0);
    });

    it('should answer health and 404 for unknown paths', async () => {
      expect(await readJson(await fetch(`${running.base}/_emulator/health`))).toEqual({ status: 'ok' });
      expect((await fetch(`${running.base}/_emulator/nope`)).status).toBe(404);
      expect((await fetch(`${running.base}/openai/v1/models`)).status).toBe(404);
    });
  });

  it('should close while a request hangs', async () => {
    const other = await startEmulator();
    const hanging = postJson(
      `${other.base}/mts/v1/chat/completions`,
      { model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Hi [[fault:hang]]' }] },
      MTS_AUTH,
    ).catch((e: unknown) => e);
    await new Promise((resolve) => setImmediate(resolve));
    await postJson(`${other.base}/_emulator/reset`, {});
    await other.close();
    expect(await hanging).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(other.emulator.server.listening).toBe(false);
  });
});
