import 'reflect-metadata';
import { ErrorCode, GatewayError, type ChatCompletionChunk, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig, type ProviderConfig } from '@xrouter/config';
import {
  CallContext,
  DeploymentTarget,
  GigaChatProvider,
  LlmProvider,
  OpenAiCompatibleProvider,
  UpstreamHttpClient,
  YandexProvider,
} from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { ANSWER_PADDING, splitIntoChunks } from '../../apps/provider-emulator/src/deterministic-answer';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { collect, failure } from '../support/outcomes';

/**
 * What every adapter promises the router, whatever the vendor: the same answer shapes and the same GatewayError for
 * the same upstream failure, each adapter against its emulator over real HTTP. Vendor-specific behaviour (GigaChat's
 * tokens, Yandex's cumulative stream and embedding fan-out, the T-Bank <think> profile) stays in each adapter's file.
 */

const MTS_KEY = 'test-mts-key';
const YANDEX_KEY = 'test-yandex-key';
const FOLDER = 'b1gtestfolder';
const CHUNKS = 4;
const HELLO = 'hello there';
const HELLO_ANSWER = `Echo: ${HELLO} ${ANSWER_PADDING}`;

interface Adapter {
  name: string;
  /** The provider's id in the routing config below. */
  providerId: string;
  upstreamModel: string;
  embeddingModel: string;
  /** The size of the emulator's vectors for that model. */
  embeddingDimensions: number;
  /** Some of the model ids `listModels` returns. */
  models: string[];
  /** The stream opens with a role-only chunk (OpenAI's own format) rather than with the first text. */
  roleChunk: boolean;
  /** Text pieces the emulator sends before a malformed event. */
  piecesBeforeMalformed: number;
  create(http: UpstreamHttpClient, store: MemoryStore): LlmProvider;
  /** The account with a credential the upstream refuses, and that secret (never to be echoed). */
  wrongCredentials: (target: DeploymentTarget) => { target: DeploymentTarget; secret: string };
}

const adapters: Adapter[] = [
  {
    name: 'GigaChat',
    providerId: 'giga',
    upstreamModel: 'GigaChat-2-Max',
    embeddingModel: 'Embeddings',
    embeddingDimensions: 16,
    models: ['GigaChat-2-Max', 'Embeddings'],
    roleChunk: false,
    piecesBeforeMalformed: 1,
    create: (http, store) => new GigaChatProvider(http, store),
    wrongCredentials: (target) => {
      const secret = Buffer.from('a:b').toString('base64');
      return { target: { ...target, account: { ...target.account, auth_key: secret } }, secret };
    },
  },
  {
    name: 'YandexGPT',
    providerId: 'yandex',
    upstreamModel: 'yandexgpt',
    embeddingModel: 'text-search-doc',
    embeddingDimensions: 256,
    models: ['yandexgpt', 'text-search-doc'],
    roleChunk: false,
    piecesBeforeMalformed: 1,
    create: (http, store) => new YandexProvider(http, store),
    wrongCredentials: (target) => {
      const secret = 'AQVN-wrong';
      return { target: { ...target, account: { ...target.account, api_key: secret } }, secret };
    },
  },
  {
    name: 'OpenAI-compatible (MTS)',
    providerId: 'mts',
    upstreamModel: 'mws-gpt-alpha',
    embeddingModel: 'bge-m3',
    embeddingDimensions: 16,
    models: ['mws-gpt-alpha', 'qwen2.5-72b-instruct'],
    roleChunk: true,
    piecesBeforeMalformed: 0,
    create: (http) => new OpenAiCompatibleProvider(http),
    wrongCredentials: (target) => {
      const secret = 'nope';
      return { target: { ...target, account: { ...target.account, api_key: secret } }, secret };
    },
  },
];

let emulator: EmulatorServer;
let providers: Map<string, ProviderConfig>;

beforeAll(async () => {
  emulator = createEmulatorServer({
    mtsApiKey: MTS_KEY,
    yandexApiKey: YANDEX_KEY,
    yandexFolderId: FOLDER,
    chunks: CHUNKS,
  });
  const base = `http://127.0.0.1:${await emulator.listen(0, '127.0.0.1')}`;
  const config = parseRoutingConfig(
    `providers:
  - id: giga
    type: gigachat
    base_url: ${base}/gigachat/api/v1
    auth_url: ${base}/gigachat/api/v2/oauth
    accounts: [{ id: main, auth_key: "\${GIGA_KEY}", scope: GIGACHAT_API_PERS }]
    free: true
  - id: yandex
    type: yandex
    base_url: ${base}/yandex/foundationModels/v1
    accounts: [{ id: main, api_key: "\${YANDEX_KEY}", folder_id: "\${FOLDER}" }]
    free: true
  - id: mts
    type: openai
    profile: mts
    base_url: ${base}/mts/v1
    accounts: [{ id: main, api_key: "\${MTS_KEY}" }]
    free: true
models:
  - name: any
    deployments: [{ provider: mts, model: mws-gpt-alpha }]
`,
    'test.yaml',
    { GIGA_KEY: DEFAULT_GIGACHAT_AUTH_KEY, YANDEX_KEY, FOLDER, MTS_KEY },
  );
  providers = new Map(config.providers.map((provider) => [provider.id, provider]));
});

afterAll(async () => {
  await emulator.close();
});

const contentOf = (chunks: ChatCompletionChunk[]): string =>
  chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
const finishesOf = (chunks: ChatCompletionChunk[]) =>
  chunks.map((c) => c.choices[0]?.finish_reason).filter((reason) => reason !== null && reason !== undefined);

/** Iterates until the stream fails; returns the chunks seen before and the error. */
async function collectUntilFailure(
  stream: AsyncIterable<ChatCompletionChunk>,
): Promise<{ seen: ChatCompletionChunk[]; error: GatewayError }> {
  const seen: ChatCompletionChunk[] = [];
  const error = await failure(
    (async () => {
      for await (const chunk of stream) seen.push(chunk);
    })(),
  );
  return { seen, error };
}

describe.each(adapters)('$name adapter contract', (adapter) => {
  let http: UpstreamHttpClient;
  let store: MemoryStore;
  let provider: LlmProvider;
  let target: DeploymentTarget;

  beforeAll(() => {
    const config = providers.get(adapter.providerId)!;
    target = {
      key: `${config.id}/main/${adapter.upstreamModel}`,
      provider: config,
      account: config.accounts[0],
      upstreamModel: adapter.upstreamModel,
    };
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    store = new MemoryStore();
    provider = adapter.create(http, store);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await store.close();
  });

  const ctx = (overrides: Partial<CallContext> = {}): CallContext => ({
    target,
    signal: new AbortController().signal,
    requestId: 'req-1',
    publicModel: 'public-model',
    completionId: 'chatcmpl-test',
    ...overrides,
  });

  const ask = (text: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model: 'public-model',
    messages: [{ role: 'user', content: text }],
    ...extra,
  });

  it('should answer a plain chat with the gateway id, the public model name and usage', async () => {
    const completion = await provider.chat(ask(HELLO), ctx());
    expect(completion).toMatchObject({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      model: 'public-model',
      choices: [{ index: 0, message: { role: 'assistant', content: HELLO_ANSWER }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 },
    });
  });

  it('should stream chunks that add up to the answer, with one stop and usage at the end', async () => {
    const chunks = await collect(await provider.chatStream(ask(HELLO, { stream: true }), ctx()));
    expect(contentOf(chunks)).toBe(HELLO_ANSWER);
    expect(chunks.every((c) => c.id === 'chatcmpl-test' && c.model === 'public-model')).toBe(true);
    expect(finishesOf(chunks)).toEqual(['stop']);
    expect(chunks.at(-1)?.usage).toEqual(expect.objectContaining({ prompt_tokens: 2, completion_tokens: 8 }));
  });

  it('should return embeddings under the public model name', async () => {
    const result = await provider.embeddings(
      { model: 'public-model', input: ['a', 'b'] },
      ctx({ target: { ...target, upstreamModel: adapter.embeddingModel } }),
    );
    expect(result.model).toBe('public-model');
    expect(result.data).toHaveLength(2);
    expect(result.data[0].embedding).toHaveLength(adapter.embeddingDimensions);
  });

  it('should list the upstream models', async () => {
    expect(await provider.listModels(target, new AbortController().signal)).toEqual(
      expect.arrayContaining(adapter.models),
    );
  });

  it.each([
    ['[[fault:status=503]]', ErrorCode.UPSTREAM_5XX, true, 503],
    ['[[fault:status=500]]', ErrorCode.UPSTREAM_5XX, true, 500],
    ['[[fault:reset]]', ErrorCode.UPSTREAM_UNREACHABLE, true, undefined],
    ['[[fault:malformed-json]]', ErrorCode.UPSTREAM_BAD_RESPONSE, true, undefined],
  ])('should map %s to %s (retryable %s, upstream status %s)', async (directive, code, retryable, status) => {
    const error = await failure(provider.chat(ask(`hi ${directive}`), ctx()));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.upstreamStatus).toBe(status);
  });

  it('should keep Retry-After of a 429', async () => {
    const error = await failure(provider.chat(ask('hi [[fault:status=429,retry-after=2]]'), ctx()));
    expect(error.code).toBe(ErrorCode.RATE_LIMITED);
    expect(error.retryAfterMs).toBe(2000);
    expect(error.upstreamStatus).toBe(429);
  });

  it('should refuse wrong credentials as a retryable upstream auth error that never echoes the secret', async () => {
    const wrong = adapter.wrongCredentials(target);
    const error = await failure(provider.chat(ask('hi'), ctx({ target: wrong.target })));
    expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
    expect(error.upstreamStatus).toBe(401);
    expect(error.retryable).toBe(true);
    expect(error.message).not.toContain(wrong.secret);
  });

  it.each([
    ['[[fault:status=503]]', ErrorCode.UPSTREAM_5XX, 503],
    ['[[fault:status=429]]', ErrorCode.RATE_LIMITED, 429],
  ])(
    'should reject chatStream itself (before any chunk) on %s, so the router can fall back',
    async (directive, code, status) => {
      const error = await failure(provider.chatStream(ask(`hi ${directive}`, { stream: true }), ctx()));
      expect(error.code).toBe(code);
      expect(error.upstreamStatus).toBe(status);
    },
  );

  it('should end a stream cut off mid-way with a retryable STREAM_TRUNCATED, never a clean stop', async () => {
    const stream = await provider.chatStream(ask(`${HELLO} [[fault:truncate-after=2]]`, { stream: true }), ctx());
    const { seen, error } = await collectUntilFailure(stream);
    expect(error.code).toBe(ErrorCode.STREAM_TRUNCATED);
    expect(error.retryable).toBe(true);
    expect(seen).toHaveLength(adapter.roleChunk ? 3 : 2);
    expect(contentOf(seen)).toBe(splitIntoChunks(HELLO_ANSWER, CHUNKS).slice(0, 2).join(''));
    expect(finishesOf(seen)).toEqual([]);
  });

  it('should fail a stream with a malformed event as UPSTREAM_BAD_RESPONSE after the chunks before it', async () => {
    const stream = await provider.chatStream(ask(`${HELLO} [[fault:malformed-json]]`, { stream: true }), ctx());
    const { seen, error } = await collectUntilFailure(stream);
    expect(error.code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
    expect(contentOf(seen)).toBe(
      splitIntoChunks(HELLO_ANSWER, CHUNKS).slice(0, adapter.piecesBeforeMalformed).join(''),
    );
  });

  it('should give up on a hanging upstream when the deadline aborts, with the deadline as the reason', async () => {
    const controller = new AbortController();
    const reason = new GatewayError(ErrorCode.TIMEOUT, 'first-token timeout');
    // The token (GigaChat) is fetched first: the hang is in the call itself.
    await provider.chat(ask('warm up'), ctx());
    const timer = setTimeout(() => controller.abort(reason), 200);
    try {
      const started = Date.now();
      const error = await failure(provider.chat(ask('hi [[fault:hang]]'), ctx({ signal: controller.signal })));
      expect(error).toBe(reason);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      clearTimeout(timer);
    }
  });
});
