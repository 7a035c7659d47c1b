import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-0123456789abcdef';
const CHUNK_DELAY_MS = 60;

/**
 * The README's first command, as a user sees it: the gateway with no provider credentials starts its bundled
 * emulators, and the official OpenAI client gets answers through it.
 */
describe('first request end to end (bundled emulators, official openai client)', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let client: OpenAI;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      MAX_BODY_SIZE: '64kb',
      EMULATOR_CHUNK_DELAY_MS: String(CHUNK_DELAY_MS),
    });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should list the configured models as served by the emulator', async () => {
    const models = await client.models.list();
    const ids = models.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['mws-gpt-alpha', 'qwen2.5-72b-instruct', 't-pro', 'smart', 'bge-m3']));
    expect(models.data.every((m) => m.owned_by === 'emulator')).toBe(true);
    expect((await client.models.retrieve('t-pro')).id).toBe('t-pro');
  });

  it('should complete a chat through the gateway', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Привет, шлюз' }] })
      .withResponse();
    expect(data.choices[0].message.content).toBe('Echo: Привет, шлюз The provider emulator answers deterministically.');
    expect(data.model).toBe('mws-gpt-alpha');
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.usage).toEqual(expect.objectContaining({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 }));
    expect(response.headers.get('x-xrouter-provider')).toBe('mts');
    expect(response.headers.get('x-xrouter-attempts')).toBe('1');
    expect(response.headers.get('x-request-id')).toBeTruthy();
  });

  it('should pass a stream chunk by chunk as the emulator sends it, not buffered', async () => {
    const stream = await client.chat.completions.create({
      model: 't-pro',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
    });
    const arrivals: number[] = [];
    let text = '';
    let usageSeen = false;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        arrivals.push(Date.now());
        text += delta;
      }
      if (chunk.usage) usageSeen = true;
    }
    expect(text).toContain('Echo: stream please');
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    // The emulator waits CHUNK_DELAY_MS between chunks: unbuffered, they reach us spread over that time.
    expect(arrivals.at(-1)! - arrivals[0]).toBeGreaterThanOrEqual(CHUNK_DELAY_MS * (arrivals.length - 1) * 0.5);
    expect(usageSeen).toBe(false);
  });

  it('should add the usage chunk when the client asks for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'mws-gpt-alpha',
      messages: [{ role: 'user', content: 'count me' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage).toEqual(expect.objectContaining({ prompt_tokens: 2, total_tokens: expect.any(Number) }));
  });

  it('should create embeddings', async () => {
    const result = await client.embeddings.create({ model: 'bge-m3', input: ['один', 'два'] });
    expect(result.data).toHaveLength(2);
    expect(result.data[0].embedding.length).toBeGreaterThan(0);
  });

  it('should answer an upstream failure as a 502 in the OpenAI envelope', async () => {
    const error = await client.chat.completions
      .create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi [[fault:status=503]]' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_error');
  });

  it('should end a stream that breaks after its first chunk with an error event', async () => {
    const stream = await client.chat.completions.create({
      model: 'mws-gpt-alpha',
      messages: [{ role: 'user', content: 'hello [[fault:truncate-after=2]]' }],
      stream: true,
    });
    const finishReasons: Array<string | null> = [];
    const error = await (async () => {
      for await (const chunk of stream) finishReasons.push(chunk.choices[0]?.finish_reason ?? null);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toContain('stream');
    expect(finishReasons).not.toContain('stop');
  });

  it('should show admins every deployment with its breaker state', async () => {
    const res = await fetch(`${gateway.url}/admin/providers`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(res.status).toBe(200);
    const deployments = (await res.json()) as Array<{ key: string; emulated: boolean; breaker: { state: string } }>;
    expect(deployments.map((d) => d.key)).toEqual(
      expect.arrayContaining(['mts/main/mws-gpt-alpha', 'tbank/main/t-tech/T-pro-it-2.0']),
    );
    expect(deployments.every((d) => d.emulated && d.breaker.state === 'closed')).toBe(true);
    expect((await fetch(`${gateway.url}/admin/providers`)).status).toBe(401);
  });

  it('should export every metric the Grafana dashboard and the alerts query', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    const chart = ['dashboards/xrouter.json', 'templates/prometheusrule.yaml']
      .map((file) => readFileSync(join(__dirname, '../../helm/xrouter', file), 'utf8'))
      .join('\n');
    const queried = new Set([...chart.matchAll(/\b((?:xrouter|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]));
    expect(queried.size).toBeGreaterThan(10);
    const missing = [...queried].filter((name) => !exported.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(missing).toEqual([]);
  });

  it('should answer the health probes without credentials', async () => {
    const live = await fetch(`${gateway.url}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const expected: Record<string, string[]> = {
      '/health/ready': ['event_loop', 'lifecycle'],
      '/health': ['database', 'event_loop', 'lifecycle', 'providers', 'store'],
    };
    for (const [path, checks] of Object.entries(expected)) {
      const res = await fetch(`${gateway.url}${path}`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; details: Record<string, { status: string }> };
      expect(body.status).toBe('ok');
      expect(Object.keys(body.details).sort()).toEqual(checks);
    }
  });

  it('should export Prometheus metrics publicly, labelled by route template and deployment', async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /xrouter_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200"\} \d+/,
    );
    expect(text).toMatch(/xrouter_upstream_requests_total\{provider="mts",model="mws-gpt-alpha",outcome="ok"\} \d+/);
    expect(text).toContain('xrouter_circuit_breaker_state{deployment="mts/main/mws-gpt-alpha"} 0');
    expect(text).toContain('nodejs_heap_size_used_bytes');
    expect(text).not.toContain(ADMIN_KEY);
  });

  it('should describe the OpenAI POST routes in the OpenAPI document, with their request schemas', async () => {
    const res = await fetch(`${gateway.url}/docs-json`);
    const doc = (await res.json()) as {
      paths: Record<string, { post?: { requestBody?: { content: Record<string, { schema: { $ref: string } }> } } }>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    for (const [path, schema] of [
      ['/v1/chat/completions', 'ChatCompletionRequestDto'],
      ['/v1/embeddings', 'EmbeddingRequestDto'],
      ['/v1/responses', 'ResponseCreateRequestDto'],
    ]) {
      expect(doc.paths[path].post?.requestBody?.content['application/json'].schema.$ref).toBe(
        `#/components/schemas/${schema}`,
      );
      expect(Object.keys(doc.components.schemas[schema].properties ?? {})).toContain('model');
    }
  });

  describe('bad input, each in the OpenAI envelope', () => {
    async function call(path: string, init: RequestInit & { key?: string | null } = {}) {
      const headers = new Headers(init.headers);
      if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? ADMIN_KEY}`);
      const res = await fetch(`${gateway.url}${path}`, { ...init, headers });
      const body = (await res.json()) as {
        error: { message: string; type: string; code: string; param: string | null };
      };
      return { status: res.status, body, res };
    }
    const json = { 'content-type': 'application/json' };
    const chat = (body: unknown) => JSON.stringify(body);

    it('should answer 401 without a key', async () => {
      const { status, body } = await call('/v1/models', { key: null });
      expect(status).toBe(401);
      expect(body.error).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key', param: null });
    });

    it('should answer 401 for an unknown key', async () => {
      const { status, body } = await call('/v1/models', { key: 'xr-not-a-real-key' });
      expect(status).toBe(401);
      expect(body.error.code).toBe('invalid_api_key');
    });

    it('should answer 404 for an unknown model', async () => {
      const { status, body } = await call('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: chat({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(status).toBe(404);
      expect(body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    });

    it('should answer 400 for malformed JSON', async () => {
      const { status, body } = await call('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: '{"model": "x",',
      });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    });

    it('should answer 400 naming the bad field', async () => {
      const { status, body } = await call('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: chat({ model: 'mws-gpt-alpha', messages: [{ role: 'wizard', content: 'x' }] }),
      });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'invalid_request', param: 'messages[0].role' });
      expect(body.error.message).toContain('messages[0].role');
    });

    it('should answer 400 for an empty message list', async () => {
      const { status, body } = await call('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: chat({ model: 'mws-gpt-alpha', messages: [] }),
      });
      expect(status).toBe(400);
      expect(body.error.param).toBe('messages');
    });

    it('should answer 413 for a body over the limit', async () => {
      const { status, body } = await call('/v1/chat/completions', {
        method: 'POST',
        headers: json,
        body: chat({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] }),
      });
      expect(status).toBe(413);
      expect(body.error.code).toBe('payload_too_large');
    });

    it('should answer 413 for a chunked body (no Content-Length) once it passes the limit', async () => {
      const piece = new TextEncoder().encode(`"${'x'.repeat(16_000)}",`);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(piece);
          else controller.close();
        },
      });
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...json, authorization: `Bearer ${ADMIN_KEY}` },
        body,
        duplex: 'half',
      });
      expect(res.status).toBe(413);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
    });

    it('should answer 413 for an admin body over the limit too (one body reader for every route)', async () => {
      const { status, body } = await call('/admin/users', {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email: 'big@example.com', name: 'x'.repeat(100_000) }),
      });
      expect(status).toBe(413);
      expect(body.error.code).toBe('payload_too_large');
    });

    it('should read a gzip body, and refuse another charset with 415', async () => {
      const payload = gzipSync(chat({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'zipped' }] }));
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...json, 'content-encoding': 'gzip', authorization: `Bearer ${ADMIN_KEY}` },
        body: payload,
      });
      expect(res.status).toBe(200);
      expect(
        ((await res.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content,
      ).toContain('zipped');
      const latin = await call('/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=latin1' },
        body: chat({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'x' }] }),
      });
      expect(latin.status).toBe(415);
      expect(latin.body.error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_media_type' });
    });

    it('should answer 400 for a JSON body that is not an object', async () => {
      const { status, body } = await call('/v1/embeddings', { method: 'POST', headers: json, body: '["hi"]' });
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'invalid_request', message: 'The request body must be a JSON object.' });
    });

    it('should answer 401 before validating the body, and 404 for GET on a POST route', async () => {
      const noKey = await call('/v1/chat/completions', { method: 'POST', headers: json, body: '{}', key: null });
      expect(noKey.status).toBe(401);
      const get = await call('/v1/chat/completions');
      expect(get.status).toBe(404);
    });

    it('should answer 404 for an unknown route, and echo the client request id', async () => {
      const { status, body, res } = await call('/v1/nothing-here', { headers: { 'x-request-id': 'client-id-42' } });
      expect(status).toBe(404);
      expect(body.error.code).toBe('not_found');
      expect(res.headers.get('x-request-id')).toBe('client-id-42');
    });
  });
});
