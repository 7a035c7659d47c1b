import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  ErrorCode,
  GatewayError,
  type ChatCompletion,
  type ChatCompletionRequest,
  type ToolDefinition,
} from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore, createStore, type Store } from '@xrouter/store';
import { GigaChatProvider } from '../../libs/providers/src/gigachat/gigachat.provider';
import { GigaChatTokenCache } from '../../libs/providers/src/gigachat/gigachat-token.cache';
import { embeddingVector } from '../../apps/provider-emulator/src/deterministic-answer';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createTestPki, type TestPki } from '../support/test-ca';
import { collect, failure } from '../support/outcomes';
import { deleteRedisKeys } from '../support/redis-cleanup';

/**
 * The GigaChat adapter against the in-process GigaChat emulator over real HTTP, with the in-process store always and
 * with Redis when REDIS_URL is set (CI): the OAuth token cache is shared through the store across "replicas".
 * The suite runs over plain HTTP and over HTTPS as GigaChat really is served: a certificate from a CA that is not in
 * Node's roots (a test CA generated for the run, standing in for the Russian Trusted Root CA) trusted through the
 * provider's `ca_file`, with the OAuth host on an origin (port) of its own, as `ngw…:9443` is.
 */

const REDIS_URL = process.env.REDIS_URL;
/** Every Redis key this run writes starts with this, so runs never share a cached token and can clean up. */
const RUN_PREFIX = `xr-test:gigachat:${randomUUID()}:`;

/** Opens a store namespace; two calls with the same name behave like two replicas of one deployment. */
type OpenStore = (name: string) => Store;

const opened: Store[] = [];
const memoryStores = new Map<string, Store>();
type Transport = 'http' | 'https';
const variants: Array<[string, Transport, OpenStore]> = [];
// The in-process store spans one process only: both "replicas" share the instance.
const openMemoryStore: OpenStore = (name) => {
  let store = memoryStores.get(name);
  if (!store) {
    store = new MemoryStore();
    memoryStores.set(name, store);
    opened.push(store);
  }
  return store;
};
variants.push(['memory', 'http', openMemoryStore], ['memory', 'https', openMemoryStore]);
if (REDIS_URL) {
  variants.push([
    'redis',
    'https',
    (name) => {
      const store = createStore({ redisUrl: REDIS_URL, keyPrefix: `${RUN_PREFIX}${name}:` });
      opened.push(store);
      return store;
    },
  ]);
}

afterAll(async () => {
  await Promise.all(opened.map((store) => store.close()));
  await deleteRedisKeys(REDIS_URL, RUN_PREFIX);
});

const HELLO_ANSWER = 'Echo: hello there The provider emulator answers deterministically.';
const WEATHER: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** `store` with a count of the calls of each method, to observe how the token cache uses it. */
function counted(store: Store): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return (value as (...params: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

describe.each(variants)('GigaChat adapter against the emulator (%s store, over %s)', (_kind, transport, openStore) => {
  let emulator: EmulatorServer;
  let pki: TestPki | undefined;
  /** HTTPS: the emulator's own handler on a second port, the OAuth host's origin. */
  let oauthServer: HttpsServer | undefined;
  let http: UpstreamHttpClient;
  let target: DeploymentTarget;
  let store: Store;
  let provider: GigaChatProvider;

  beforeAll(async () => {
    let base: string;
    let oauthBase: string;
    if (transport === 'https') {
      pki = createTestPki();
      const tls = { cert: pki.serverCert, key: pki.serverKey };
      emulator = createEmulatorServer({ chunks: 4 }, { tls });
      base = `https://127.0.0.1:${await emulator.listen(0, '127.0.0.1')}`;
      const handler = emulator.server.listeners('request')[0] as Parameters<typeof createHttpsServer>[1];
      const server = createHttpsServer(tls, handler);
      oauthServer = server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      oauthBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    } else {
      emulator = createEmulatorServer({ chunks: 4 });
      base = `http://127.0.0.1:${await emulator.listen(0, '127.0.0.1')}`;
      oauthBase = base;
    }
    // Over HTTPS at most 16 connections: a burst of 100 TLS handshakes on a shared CI machine takes seconds.
    const config = parseRoutingConfig(
      `providers:
  - id: giga
    type: gigachat
    base_url: ${base}/gigachat/api/v1
    auth_url: ${oauthBase}/gigachat/api/v2/oauth
    ca_file: "${pki?.caPemFile ?? ''}"
    max_connections: ${transport === 'https' ? 16 : 128}
    accounts: [{ id: main, auth_key: "\${KEY}", scope: GIGACHAT_API_PERS }]
    free: true
models:
  - name: giga-max
    deployments: [{ provider: giga, model: GigaChat-2-Max }]
`,
      'test.yaml',
      { KEY: DEFAULT_GIGACHAT_AUTH_KEY },
    );
    const giga = config.providers[0];
    target = {
      key: 'giga/main/GigaChat-2-Max',
      provider: giga,
      account: giga.accounts[0],
      upstreamModel: 'GigaChat-2-Max',
    };
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    store = openStore(randomUUID());
    provider = new GigaChatProvider(http, store);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await emulator.close();
    if (oauthServer) {
      const server = oauthServer;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    pki?.remove();
  });

  const ctx = (overrides: Partial<CallContext> = {}): CallContext => ({
    target,
    signal: new AbortController().signal,
    requestId: `req-${randomUUID()}`,
    publicModel: 'giga-max',
    completionId: 'chatcmpl-test',
    ...overrides,
  });

  const ask = (text: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model: 'giga-max',
    messages: [{ role: 'user', content: text }],
    ...extra,
  });

  interface GigaStats {
    oauthTokensIssued: number;
    functionStatesEchoed: number;
    routes: Record<string, number>;
  }
  const stats = (): Promise<GigaStats> => Promise.resolve(emulator.state.stats.snapshot().gigachat);
  const oauthCalls = async (): Promise<number> => (await stats()).oauthTokensIssued;

  it('should answer a plain chat with the exact emulator text, usage and cached tokens', async () => {
    const before = Math.floor(Date.now() / 1000);
    const completion = await provider.chat(ask('hello there'), ctx());
    expect(completion).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'giga-max',
      choices: [
        { index: 0, message: { role: 'assistant', content: HELLO_ANSWER }, finish_reason: 'stop', logprobs: null },
      ],
      usage: { prompt_tokens: 2, completion_tokens: 8, total_tokens: 10, prompt_tokens_details: { cached_tokens: 0 } },
    });
    expect(completion.created).toBeGreaterThanOrEqual(before);
  });

  it('should keep the token in the store under a hash of the credential, never the key itself', async () => {
    await provider.chat(ask('hello there'), ctx());
    const key = GigaChatTokenCache.keyOf(target);
    expect(key).toMatch(/^gigachat:token:[0-9a-f]{64}$/);
    expect(key).not.toContain(DEFAULT_GIGACHAT_AUTH_KEY);
    const cached = JSON.parse((await store.get(key)) ?? 'null') as {
      token: string;
      expiresAt: number;
      refreshAt: number;
    };
    expect(cached.token).toHaveLength(1024);
    expect(cached.refreshAt).toBe(cached.expiresAt - 60_000);
    expect(cached.expiresAt).toBeGreaterThan(Date.now() + 29 * 60_000);
  });

  it('should stream chunks with the role first, the text, one finish and the usage chunk last', async () => {
    const chunks = await collect(await provider.chatStream(ask('hello there', { stream: true }), ctx()));
    expect(chunks).toHaveLength(6);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.slice(1).every((c) => c.choices[0]?.delta.role === undefined)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(HELLO_ANSWER);
    expect(chunks.map((c) => c.choices[0]?.finish_reason ?? null)).toEqual([null, null, null, null, 'stop', null]);
    expect(chunks.every((c) => c.id === 'chatcmpl-test' && c.model === 'giga-max')).toBe(true);
    expect(chunks[5]).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2, completion_tokens: 8, total_tokens: 10, prompt_tokens_details: { cached_tokens: 0 } },
    });
  });

  it('should carry a tool call round trip: call, tool result, answer', async () => {
    const first = await provider.chat(ask('Moscow', { tools: [WEATHER], tool_choice: 'auto' }), ctx());
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    expect(first.choices[0].message.content).toBeNull();
    const call = first.choices[0].message.tool_calls?.[0];
    // The id carries GigaChat's functions_state_id, which the next turn sends back (the emulator checks it).
    expect(call).toEqual({
      id: expect.stringMatching(/^call_[0-9a-f]{4}_gsu[0-9a-f]{32}$/),
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city":"Moscow"}' },
    });
    const echoedBefore = (await stats()).functionStatesEchoed;

    const history = (result: string): ChatCompletionRequest => ({
      model: 'giga-max',
      tools: [WEATHER],
      messages: [
        { role: 'user', content: 'Moscow' },
        { role: 'assistant', content: null, tool_calls: [call!] },
        { role: 'tool', tool_call_id: call!.id, content: result },
      ],
    });
    const plain = await provider.chat(history('-3 C'), ctx());
    expect(plain.choices[0]).toMatchObject({
      message: { content: 'Tool result: "-3 C" The provider emulator answers deterministically.' },
      finish_reason: 'stop',
    });
    const json = await provider.chat(history('{"temp":-3}'), ctx());
    expect(json.choices[0].message.content).toBe(
      'Tool result: {"temp":-3} The provider emulator answers deterministically.',
    );
    expect((await stats()).functionStatesEchoed).toBe(echoedBefore + 2);
    // A forged state id is refused by the emulator as the API would (422 → 400).
    const forged = { ...call!, id: 'call_0000_gsu' + '0'.repeat(32) };
    const error = await failure(
      provider.chat(
        {
          ...history('x'),
          messages: [
            { role: 'user', content: 'Moscow' },
            { role: 'assistant', content: null, tool_calls: [forged] },
            { role: 'tool', tool_call_id: forged.id, content: 'x' },
          ],
        },
        ctx(),
      ),
    );
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
  });

  it('should get JSON valid against an OpenAI json_schema, plain and streamed', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temp: { type: 'integer', minimum: -50, maximum: 50 } },
      required: ['city', 'temp'],
      additionalProperties: false,
    };
    const request = ask('Omsk', {
      response_format: { type: 'json_schema', json_schema: { name: 'weather', schema, strict: true } },
    });
    const plain = await provider.chat(request, ctx());
    expect(JSON.parse(plain.choices[0].message.content!)).toEqual({ city: 'Omsk', temp: 3 });
    const chunks = await collect(await provider.chatStream({ ...request, stream: true }, ctx()));
    expect(JSON.parse(chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''))).toEqual({
      city: 'Omsk',
      temp: 3,
    });
  });

  it('should report the prompt cached in a session as cached_tokens, plain and streamed', async () => {
    const messages: ChatCompletionRequest['messages'] = [
      { role: 'system', content: 'You are a terse assistant for tests' },
      { role: 'user', content: 'hello there' },
    ];
    const session = ctx({ sessionId: `s-${randomUUID()}` });
    const first = await provider.chat({ model: 'giga-max', messages }, session);
    expect(first.usage?.prompt_tokens_details).toEqual({ cached_tokens: 0 });
    const again = await provider.chat({ model: 'giga-max', messages }, session);
    expect(again.usage?.prompt_tokens_details).toEqual({ cached_tokens: 9 });
    const user = `u-${randomUUID()}`;
    await provider.chat({ model: 'giga-max', messages, user }, ctx());
    const chunks = await collect(await provider.chatStream({ model: 'giga-max', messages, user, stream: true }, ctx()));
    expect(chunks[chunks.length - 1].usage?.prompt_tokens_details).toEqual({ cached_tokens: 9 });
  });

  it('should keep a session for a user no header can carry as it is (Cyrillic, spaces, control characters)', async () => {
    const messages: ChatCompletionRequest['messages'] = [
      { role: 'system', content: 'You are a terse assistant for tests' },
      { role: 'user', content: 'hello there' },
    ];
    const user = `Пётр Иванов \u0001 ${randomUUID()}`;
    await provider.chat({ model: 'giga-max', messages, user }, ctx());
    const again = await provider.chat({ model: 'giga-max', messages, user }, ctx());
    expect(again.usage?.prompt_tokens_details).toEqual({ cached_tokens: 9 });
  });

  it('should force the only tool for tool_choice required and stream the call as one tool_calls delta', async () => {
    const chunks = await collect(
      await provider.chatStream(ask('Kazan', { stream: true, tools: [WEATHER], tool_choice: 'required' }), ctx()),
    );
    expect(chunks).toHaveLength(3);
    expect(chunks[0].choices[0].delta).toEqual({
      role: 'assistant',
      tool_calls: [
        {
          index: 0,
          id: expect.stringMatching(/^call_/),
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Kazan"}' },
        },
      ],
    });
    expect(chunks[1].choices[0].finish_reason).toBe('tool_calls');
    expect(chunks[2].usage?.prompt_tokens).toBe(1);
  });

  it('should merge system and developer messages that are not first into one first system message', async () => {
    const completion = await provider.chat(
      {
        model: 'giga-max',
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'system', content: 'be brief' },
          { role: 'developer', content: 'x' },
          { role: 'user', content: 'hello there' },
        ],
      },
      ctx(),
    );
    expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
    // "be brief\n\nx" + "hi" + "hello there": six words.
    expect(completion.usage?.prompt_tokens).toBe(6);
  });

  it('should send temperature 0 (GigaChat needs > 0) and still answer', async () => {
    const completion = await provider.chat(ask('hello there', { temperature: 0 }), ctx());
    expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
  });

  it('should refuse json_object by name before calling upstream', async () => {
    const before = (await stats()).routes['POST /chat/completions'] ?? 0;
    const refused: Array<[Partial<ChatCompletionRequest>, string]> = [
      [{ response_format: { type: 'json_object' } }, 'response_format'],
    ];
    for (const [extra, param] of refused) {
      const error = await failure(provider.chat(ask('hello there', extra), ctx()));
      expect([error.code, error.param]).toEqual([ErrorCode.BAD_REQUEST, param]);
    }
    expect((await stats()).routes['POST /chat/completions'] ?? 0).toBe(before);
  });

  it('should return embeddings with the summed per-item usage under the public model', async () => {
    const result = await provider.embeddings(
      { model: 'giga-embed', input: ['a', 'b c'] },
      ctx({ publicModel: 'giga-embed', target: { ...target, upstreamModel: 'Embeddings' } }),
    );
    expect(result).toEqual({
      object: 'list',
      model: 'giga-embed',
      data: [
        { object: 'embedding', index: 0, embedding: embeddingVector('a') },
        { object: 'embedding', index: 1, embedding: embeddingVector('b c') },
      ],
      usage: { prompt_tokens: 3, total_tokens: 3 },
    });
  });

  it('should list the upstream model ids', async () => {
    expect(await provider.listModels(target, new AbortController().signal)).toEqual([
      'GigaChat',
      'GigaChat-Pro',
      'GigaChat-Max',
      'GigaChat-2',
      'GigaChat-2-Pro',
      'GigaChat-2-Max',
      'Embeddings',
      'Embeddings-2',
      'EmbeddingsGigaR',
    ]);
  });

  describe('errors', () => {
    it.each([
      ['a wrong auth key (OAuth 401)', { auth_key: Buffer.from('a:b').toString('base64') }, 401],
      ['a scope the OAuth host refuses (OAuth 400)', { scope: 'GIGACHAT_API_FREE' }, 400],
    ])('should answer %s with UPSTREAM_AUTH, not a client error', async (_title, account, status) => {
      const before = await oauthCalls();
      const wrong = { ...target, account: { ...target.account, ...account } };
      const error = await failure(provider.chat(ask('hello there'), ctx({ target: wrong })));
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
      expect(error.status).toBe(502);
      expect(error.upstreamStatus).toBe(status);
      expect(error.message).not.toContain(wrong.account.auth_key);
      expect(await oauthCalls()).toBe(before);
    });

    it.each([
      ['[[fault:status=422]]', ErrorCode.BAD_REQUEST, false, 422],
      ['[[fault:status=402]]', ErrorCode.INSUFFICIENT_QUOTA, true, 402],
    ])('should map %s to %s (retryable %s)', async (directive, code, retryable, status) => {
      const error = await failure(provider.chat(ask(`hi ${directive}`), ctx()));
      expect(error.code).toBe(code);
      expect(error.retryable).toBe(retryable);
      expect(error.upstreamStatus).toBe(status);
    });

    it('should map 404 No such model to MODEL_NOT_FOUND', async () => {
      const error = await failure(
        provider.chat(ask('hi'), ctx({ target: { ...target, upstreamModel: 'GigaChat-9-Ultra' } })),
      );
      expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
      expect(error.message).toContain('No such model');
    });

    it('should refuse two tool calls in one assistant message with 400 before calling upstream', async () => {
      const before = (await stats()).routes['POST /chat/completions'] ?? 0;
      const two = ['c1', 'c2'].map((id) => ({
        id,
        type: 'function' as const,
        function: { name: 'f', arguments: '{}' },
      }));
      const error = await failure(
        provider.chat(
          {
            model: 'giga-max',
            messages: [
              { role: 'user', content: 'x' },
              { role: 'assistant', content: null, tool_calls: two },
            ],
          },
          ctx(),
        ),
      );
      expect(error.code).toBe(ErrorCode.BAD_REQUEST);
      expect(error.param).toBe('messages[1].tool_calls');
      expect((await stats()).routes['POST /chat/completions'] ?? 0).toBe(before);
    });

    it('should give up waiting for a token when the caller aborts, with the abort reason', async () => {
      const fresh = new GigaChatProvider(http, openStore(randomUUID()));
      const controller = new AbortController();
      const reason = new GatewayError(ErrorCode.TIMEOUT, 'first-token timeout');
      controller.abort(reason);
      expect(await failure(fresh.chat(ask('hello there'), ctx({ signal: controller.signal })))).toBe(reason);
    });
  });

  describe('tokens', () => {
    it('should re-authenticate exactly once when the API refuses the token (expire-token), and succeed', async () => {
      await provider.chat(ask('warm up'), ctx());
      const before = await stats();
      const completion = await provider.chat(ask('hello there [[fault:expire-token]]'), ctx());
      expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
      const after = await stats();
      expect(after.oauthTokensIssued - before.oauthTokensIssued).toBe(1);
      expect(after.routes['POST /chat/completions'] - before.routes['POST /chat/completions']).toBe(2);
    });

    it('should re-authenticate once on a 401 before a stream starts, and stream the answer', async () => {
      await provider.chat(ask('warm up'), ctx());
      const before = await oauthCalls();
      const chunks = await collect(
        await provider.chatStream(ask('hello there [[fault:expire-token]]', { stream: true }), ctx()),
      );
      expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(HELLO_ANSWER);
      expect(await oauthCalls()).toBe(before + 1);
    });

    it('should make one OAuth call for 100 concurrent cold chats, and none from a second replica', async () => {
      const shared = randomUUID();
      const watched = counted(openStore(shared));
      const replica1 = new GigaChatProvider(http, watched.store);
      const before = await oauthCalls();
      const answers = await Promise.all(Array.from({ length: 100 }, () => replica1.chat(ask('hello there'), ctx())));
      expect(answers.map((a: ChatCompletion) => a.choices[0].message.content)).toEqual(Array(100).fill(HELLO_ANSWER));
      expect(await oauthCalls()).toBe(before + 1);
      // One in-flight refresh for the whole process: a single lock attempt, not one per caller.
      expect(watched.calls.get('acquireLock')).toBe(1);
      expect(watched.calls.get('set')).toBe(1);

      const replica2 = new GigaChatProvider(http, openStore(shared));
      const more = await Promise.all(Array.from({ length: 20 }, () => replica2.chat(ask('hello there'), ctx())));
      expect(more.every((a) => a.choices[0].message.content === HELLO_ANSWER)).toBe(true);
      expect(await replica2.listModels(target, new AbortController().signal)).toContain('GigaChat-2-Max');
      expect(await oauthCalls()).toBe(before + 1);
    });

    it('should still serve (fail open) with one OAuth call when the store cannot answer', async () => {
      const down = new MemoryStore();
      await down.close();
      const alone = new GigaChatProvider(http, down);
      const before = await oauthCalls();
      const answers = await Promise.all(Array.from({ length: 10 }, () => alone.chat(ask('hello there'), ctx())));
      expect(answers.every((a) => a.choices[0].message.content === HELLO_ANSWER)).toBe(true);
      expect((await alone.chat(ask('hello there'), ctx())).choices[0].message.content).toBe(HELLO_ANSWER);
      expect(await oauthCalls()).toBe(before + 1);
    });

    it('should make one OAuth call when two cold replicas burst at the same time (cross-replica lock)', async () => {
      const shared = randomUUID();
      const replicas = [new GigaChatProvider(http, openStore(shared)), new GigaChatProvider(http, openStore(shared))];
      const before = await oauthCalls();
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, i) => replicas[i % 2].chat(ask('hello there'), ctx())),
      );
      expect(answers.every((a) => a.choices[0].message.content === HELLO_ANSWER)).toBe(true);
      expect(await oauthCalls()).toBe(before + 1);
    });
  });
});
