import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { WebSocket } from 'ws';
import type { UsageReportRow } from '@xrouter/usage';
import { callApi } from '../support/api';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-responses-ws-0123456789';

interface ServerEvent {
  type: string;
  [field: string]: unknown;
}

/** A raw socket to `/v1/responses` that keeps every event it gets, for the cases the SDK hides. */
class RawSocket {
  readonly events: ServerEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      this.events.push(JSON.parse(data.toString()) as ServerEvent);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
  }

  static open(url: string, key: string): Promise<RawSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/responses`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RawSocket(ws)));
      ws.once('error', reject);
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves with the events so far once one satisfies `done`. */
  async until(done: (event: ServerEvent) => boolean, timeoutMs = 10_000): Promise<ServerEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.events.some(done)) {
      if (Date.now() > deadline) throw new Error(`no such event in ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        setTimeout(wake, 100);
      });
    }
    return this.events;
  }
}

const finished = (event: ServerEvent) =>
  event.type === 'response.completed' || event.type === 'response.failed' || event.type === 'error';

/** The handshake's answer when it is refused: its HTTP status and body. */
function refusedHandshake(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/responses`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the handshake was accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

async function heapUsed(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]);
}

/** The Responses API's WebSocket mode, with the official client's ResponsesWS and raw sockets. */
describe('the Responses API over WebSocket', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let userId: string;
  let key: string;

  async function newKey(extra: Record<string, unknown> = {}): Promise<string> {
    return (await newKeyWithId(extra)).key;
  }

  async function newKeyWithId(extra: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
    const created = await callApi<{ id: string; key: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/api-keys', {
      name: 'ws',
      user_id: userId,
      ...extra,
    });
    return created.json;
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      USAGE_FLUSH_INTERVAL_MS: '200',
      WEBSOCKET_IDLE_TIMEOUT_MS: '3000',
      // Long answers stream in many events (the slow-reader case): the bundled emulator reads it.
      EMULATOR_CHUNKS: '2000',
    });
    const user = await callApi<{ id: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/users', {
      email: 'responses-ws@example.com',
      role: 'user',
    });
    userId = user.json.id;
    key = await newKey();
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should run several responses one after another on one socket of the official client', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const socket = new ResponsesWS(client);
    const completed: OpenAI.Responses.Response[] = [];
    const deltas: string[] = [];
    socket.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const done = new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('response.completed', (event) => {
        completed.push(event.response);
        if (completed.length === 3) resolve();
      });
    });
    for (const word of ['один', 'два', 'три']) {
      socket.send({ type: 'response.create', model: 'GigaChat-2', input: word });
    }
    await done;
    socket.close({ code: 1000, reason: 'done' });
    const texts = completed.map((r) =>
      r.output
        .map((item) => (item.type === 'message' ? item.content.map((c) => ('text' in c ? c.text : '')).join('') : ''))
        .join(''),
    );
    expect(texts).toEqual([
      expect.stringContaining('Echo: один'),
      expect.stringContaining('Echo: два'),
      expect.stringContaining('Echo: три'),
    ]);
    expect(new Set(completed.map((r) => r.id)).size).toBe(3);
    expect(deltas.join('')).toContain('Echo: два');
  });

  it('should make a tool round trip on one socket of the official client, continuing by previous_response_id', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const socket = new ResponsesWS(client);
    const completed: OpenAI.Responses.Response[] = [];
    let next: (response: OpenAI.Responses.Response) => void = () => undefined;
    socket.on('error', (error) => {
      throw error;
    });
    socket.on('response.completed', (event) => {
      completed.push(event.response);
      next(event.response);
    });
    const answered = () => new Promise<OpenAI.Responses.Response>((resolve) => (next = resolve));
    const tool: OpenAI.Responses.FunctionTool = {
      type: 'function',
      name: 'get_weather',
      description: 'Weather in a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: false,
    };
    let waiting = answered();
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'Москва', tools: [tool], store: false });
    const first = await waiting;
    const call = first.output.find((item) => item.type === 'function_call');
    if (call?.type !== 'function_call') throw new Error(`expected a function call: ${JSON.stringify(first)}`);
    expect(JSON.parse(call.arguments)).toEqual({ city: 'Москва' });
    waiting = answered();
    socket.send({
      type: 'response.create',
      model: 'GigaChat-2',
      tools: [tool],
      store: false,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '{"t": -3}' }],
    });
    const second = await waiting;
    socket.close({ code: 1000, reason: 'done' });
    expect(second.previous_response_id).toBe(first.id);
    const text = second.output.map((item) => (item.type === 'message' ? JSON.stringify(item.content) : '')).join('');
    expect(text).toContain('Tool result:');
  });

  it('should continue a response by previous_response_id on the same socket', async () => {
    const socket = await RawSocket.open(gateway.url, key);
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'первый' });
    const first = (await socket.until((e) => e.type === 'response.completed')).find(
      (e) => e.type === 'response.completed',
    ) as unknown as { response: { id: string } };
    socket.send({
      type: 'response.create',
      model: 'GigaChat-2',
      input: 'второй',
      previous_response_id: first.response.id,
    });
    await socket.until(
      (e) => e.type === 'response.completed' && (e.response as { id: string }).id !== first.response.id,
    );
    expect(socket.events.filter((e) => e.type === 'error')).toEqual([]);
    socket.ws.close();
  });

  it('should continue an unstored response on its own socket, with its history, and on no other', async () => {
    const completedOn = async (socket: RawSocket, after: number) =>
      (await socket.until((e) => e.type === 'response.completed' && socket.events.indexOf(e) >= after))
        .filter((e) => e.type === 'response.completed')
        .at(-1) as unknown as { response: { id: string; usage: { input_tokens: number } } };
    const socket = await RawSocket.open(gateway.url, key);
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'Меня зовут Пётр', store: false });
    const first = await completedOn(socket, 0);
    const mark = socket.events.length;
    socket.send({
      type: 'response.create',
      model: 'GigaChat-2',
      input: 'Как меня зовут?',
      store: false,
      previous_response_id: first.response.id,
    });
    // The history ("Меня зовут Пётр" (3) and its answer (9)) came from the socket's memory: nothing was stored.
    expect((await completedOn(socket, mark)).response.usage.input_tokens).toBe(15);
    expect(socket.events.filter((e) => e.type === 'error')).toEqual([]);

    // Neither another socket nor HTTP can see it.
    const other = await RawSocket.open(gateway.url, key);
    other.send({ type: 'response.create', model: 'GigaChat-2', input: 'и?', previous_response_id: first.response.id });
    const [refused] = (await other.until((e) => e.type === 'error')).filter((e) => e.type === 'error');
    expect(refused).toMatchObject({ status: 404, param: 'previous_response_id' });
    expect((await callApi(gateway.url, key, 'GET', `/v1/responses/${first.response.id}`)).status).toBe(404);
    socket.ws.close();
    other.ws.close();
  });

  it('should answer a bad message with an error event and keep the socket open', async () => {
    const socket = await RawSocket.open(gateway.url, key);
    socket.send('not json');
    socket.send({ type: 'session.update' });
    socket.send({ type: 'response.create', model: 'no-such-model', input: 'hi' });
    socket.send({ type: 'response.create', input: 42 });
    await socket.until(() => socket.events.filter((e) => e.type === 'error').length === 4);
    const errors = socket.events.filter((e) => e.type === 'error');
    expect(errors.map((e) => [e.status, e.code])).toEqual([
      [400, 'invalid_json'],
      [400, 'invalid_request'],
      [404, 'model_not_found'],
      [400, 'invalid_request'],
    ]);
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'после ошибок' });
    await socket.until((e) => e.type === 'response.completed');
    socket.ws.close();
  });

  it('should refuse the handshake without a credential, or without the chat scope, in the OpenAI envelope', async () => {
    const anonymous = await refusedHandshake(gateway.url, {});
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ error: { code: 'invalid_api_key' } });
    const embeddingsOnly = await refusedHandshake(gateway.url, {
      authorization: `Bearer ${await newKey({ scopes: ['embeddings'] })}`,
    });
    expect(embeddingsOnly.status).toBe(403);
  });

  it('should answer a plain GET of /v1/responses with 426', async () => {
    const res = await fetch(`${gateway.url}/v1/responses`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(426);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('upgrade_required');
  });

  it('should count each response against the key limits and record a usage row each', async () => {
    const limited = await newKeyWithId({ rpm_limit: 3 });
    const socket = await RawSocket.open(gateway.url, limited.key); // the handshake is the first request
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'a' });
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'b' });
    socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'c' });
    await socket.until(
      () => socket.events.filter((e) => e.type === 'response.completed' || e.type === 'error').length === 3,
    );
    expect(socket.events.filter((e) => e.type === 'response.completed')).toHaveLength(2);
    expect(socket.events.find((e) => e.type === 'error')).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    socket.ws.close();
    // The two responses, a row each (the refused one was stopped at the limit, before it was a call).
    let row: UsageReportRow | undefined;
    for (let i = 0; i < 50 && row?.requests !== 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const usage = await callApi<UsageReportRow[]>(gateway.url, ADMIN_KEY, 'GET', '/admin/usage?group_by=key');
      row = usage.json.find((r) => r.group === limited.id);
    }
    expect(row).toMatchObject({ requests: 2, errors: 0 });
    expect(row?.promptTokens).toBeGreaterThan(0);
  });

  it('should close an idle socket with a normal code', async () => {
    const socket = await RawSocket.open(gateway.url, key);
    expect(await socket.closed).toEqual({ code: 1000, reason: 'idle' });
  });

  it('should hold 500 idle and 50 busy sockets with a flat heap', async () => {
    const before = await heapUsed(gateway.url);
    const idle = await Promise.all(Array.from({ length: 500 }, () => RawSocket.open(gateway.url, key)));
    const busy = await Promise.all(Array.from({ length: 50 }, () => RawSocket.open(gateway.url, key)));
    for (const socket of busy) socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'нагрузка' });
    await Promise.all(busy.map((socket) => socket.until(finished, 30_000)));
    expect(busy.every((s) => s.events.some((e) => e.type === 'response.completed'))).toBe(true);
    const during = await heapUsed(gateway.url);
    for (const socket of [...idle, ...busy]) socket.ws.close();
    // 550 sockets and 50 responses: a few MB, not tens.
    expect(during - before).toBeLessThan(48 * 1024 * 1024);
  }, 60_000);

  it('should stop producing for a client that stops reading, and go on when it reads again', async () => {
    // 1.8 M characters in 2,000 deltas and four whole-text events: far more than a socket's buffers hold.
    const long = 'слово '.repeat(300_000);
    const reader = await RawSocket.open(gateway.url, key);
    const socket = (reader.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    reader.ws.once('message', () => socket.pause());
    reader.send({ type: 'response.create', model: 'GigaChat-2', input: long });
    const [created] = await reader.until((e) => e.type === 'response.created');
    const id = (created.response as { id: string }).id;
    await new Promise((r) => setTimeout(r, 2_000));
    // Had the gateway kept writing into memory, it would have finished (and stored) the response by now.
    const whileStalled = await callApi(gateway.url, key, 'GET', `/v1/responses/${id}`);
    expect(whileStalled.status).toBe(404);
    socket.resume();
    await reader.until((e) => e.type === 'response.completed', 30_000);
    const afterwards = await callApi<{ status: string }>(gateway.url, key, 'GET', `/v1/responses/${id}`);
    expect(afterwards.status).toBe(200);
    expect(afterwards.json.status).toBe('completed');
    reader.ws.close();
  }, 45_000);
});

describe('the Responses API over WebSocket, on shutdown', () => {
  it('should finish the running response, then close the socket with a normal code', async () => {
    const db = await createTestDatabase();
    // A paced emulator: the answer takes about a second to stream.
    const gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      EMULATOR_CHUNKS: '10',
      EMULATOR_CHUNK_DELAY_MS: '100',
    });
    try {
      const socket = await RawSocket.open(gateway.url, ADMIN_KEY);
      socket.send({ type: 'response.create', model: 'GigaChat-2', input: 'до остановки', store: false });
      await socket.until((e) => e.type === 'response.output_text.delta');
      const exited = gateway.stop('SIGTERM');
      expect(await socket.closed).toEqual({ code: 1000, reason: 'server shutting down' });
      expect(socket.events.map((e) => e.type)).toContain('response.completed');
      expect(await exited).toBe(0);
    } finally {
      await gateway.stop();
      await db.drop();
    }
  }, 60_000);
});
