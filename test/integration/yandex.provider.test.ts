import 'reflect-metadata';
import { ErrorCode, type ChatCompletionChunk, type ChatCompletionRequest, type ToolDefinition } from '@xrouter/common';
import { parseRoutingConfig, type AccountConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { YandexProvider } from '../../libs/providers/src/yandex/yandex.provider';
import { YANDEX_MODEL_IDS } from '../../libs/providers/src/yandex/yandex.mapper';
import {
  ANSWER_PADDING,
  embeddingVector,
  splitIntoChunks,
} from '../../apps/provider-emulator/src/deterministic-answer';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import {
  YANDEX_EMBEDDING_DIMENSIONS,
  YANDEX_FILTER_TEXT,
  YANDEX_QUOTA_MESSAGE,
} from '../../apps/provider-emulator/src/yandex.emulator';
import { collect, failure } from '../support/outcomes';

const KEY = 'test-yandex-key';
const FOLDER = 'b1gtestfolder';
const CHUNKS = 8;
const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;

describe('YandexGPT native adapter against the Yandex emulator over HTTP', () => {
  let emulator: EmulatorServer;
  let http: UpstreamHttpClient;
  let provider: YandexProvider;
  let target: DeploymentTarget;
  let baseUrl: string;
  let store: MemoryStore;

  beforeAll(async () => {
    emulator = createEmulatorServer({ yandexApiKey: KEY, yandexFolderId: FOLDER, chunks: CHUNKS });
    const port = await emulator.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${port}/yandex/foundationModels/v1`;
    const config = parseRoutingConfig(
      `providers:
  - id: yandex
    type: yandex
    base_url: ${baseUrl}
    accounts: [{ id: main, api_key: "\${KEY}", folder_id: "\${FOLDER}" }]
    free: true
models:
  - name: yandex-pro
    deployments: [{ provider: yandex, model: yandexgpt }]
`,
      'test.yaml',
      { KEY, FOLDER },
    );
    const yandex = config.providers[0];
    target = {
      key: 'yandex/main/yandexgpt',
      provider: yandex,
      account: yandex.accounts[0],
      upstreamModel: 'yandexgpt',
    };
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    store = new MemoryStore();
    provider = new YandexProvider(http, store);
  });

  beforeEach(() => emulator.state.stats.reset());

  afterAll(async () => {
    await http.onApplicationShutdown();
    await store.close();
    await emulator.close();
  });

  const withAccount = (account: Partial<AccountConfig>, upstreamModel = target.upstreamModel): DeploymentTarget => ({
    ...target,
    account: { ...target.account, ...account },
    upstreamModel,
  });

  const ctx = (overrides: Partial<CallContext> = {}): CallContext => ({
    target,
    signal: new AbortController().signal,
    requestId: 'req-1',
    publicModel: 'yandex-pro',
    completionId: 'chatcmpl-test',
    ...overrides,
  });

  const ask = (text: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model: 'yandex-pro',
    messages: [
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: text },
    ],
    ...extra,
  });

  const weatherTool: ToolDefinition = {
    type: 'function',
    function: {
      name: 'weatherTool',
      description: 'Weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  };

  const contentOf = (chunks: ChatCompletionChunk[]): string =>
    chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const finishesOf = (chunks: ChatCompletionChunk[]) =>
    chunks.map((c) => c.choices[0]?.finish_reason).filter((reason) => reason !== null && reason !== undefined);

  describe('chat', () => {
    it('should answer a plain chat with the exact emulator text and numeric usage', async () => {
      // temperature 1.5 would be refused with 400 by the emulator: the adapter clamps it to 1.
      const completion = await provider.chat(ask('Hello there', { temperature: 1.5, max_tokens: 2000 }), ctx());
      expect(completion).toEqual({
        id: 'chatcmpl-test',
        object: 'chat.completion',
        created: expect.any(Number),
        model: 'yandex-pro',
        choices: [
          { index: 0, message: { role: 'assistant', content: HELLO_ANSWER }, finish_reason: 'stop', logprobs: null },
        ],
        usage: {
          prompt_tokens: 4,
          completion_tokens: 8,
          total_tokens: 12,
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      });
      expect(emulator.state.stats.snapshot().yandex.routes).toEqual({ 'POST /completion': 1 });
    });

    it('should authenticate with an IAM token as Bearer plus x-folder-id when there is no API key', async () => {
      const iam = withAccount({ api_key: undefined, iam_token: KEY });
      const completion = await provider.chat(ask('Hello there'), ctx({ target: iam }));
      expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);
      const wrong = await failure(
        provider.chat(ask('Hello there'), ctx({ target: withAccount({ api_key: '', iam_token: 't1.expired' }) })),
      );
      expect(wrong.code).toBe(ErrorCode.UPSTREAM_AUTH);
      expect(wrong.upstreamStatus).toBe(401);
    });

    it('should prefer the API key when both an API key and an IAM token are set', async () => {
      const both = withAccount({ api_key: KEY, iam_token: 't1.not-valid' });
      expect((await provider.chat(ask('Hello there'), ctx({ target: both }))).choices[0].message.content).toBe(
        HELLO_ANSWER,
      );
    });

    it('should accept a full gpt:// URI as the upstream model', async () => {
      const full = withAccount({}, `gpt://${FOLDER}/yandexgpt-lite/latest`);
      expect((await provider.chat(ask('Hello there'), ctx({ target: full }))).choices[0].message.content).toBe(
        HELLO_ANSWER,
      );
    });

    it('should finish with length when max_tokens cuts the answer', async () => {
      const completion = await provider.chat(ask('Hello there', { max_tokens: 2 }), ctx());
      expect(completion.choices[0]).toMatchObject({
        message: { role: 'assistant', content: 'Echo: Hello' },
        finish_reason: 'length',
      });
      expect(completion.usage).toMatchObject({ prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    });

    it('should return the filter replacement with finish content_filter on a non-streamed answer', async () => {
      const completion = await provider.chat(ask('Hello there [[fault:content-filter]]'), ctx());
      expect(completion.choices[0]).toMatchObject({
        message: { content: YANDEX_FILTER_TEXT },
        finish_reason: 'content_filter',
      });
    });

    it('should carry a tool call round trip: call, tool result in the next request, answer', async () => {
      const first = await provider.chat(ask('Weather in Moscow?', { tools: [weatherTool] }), ctx());
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      expect(first.choices[0].message.content).toBeNull();
      const calls = first.choices[0].message.tool_calls ?? [];
      expect(calls).toEqual([
        {
          id: expect.stringMatching(/^call_[\w-]{24}$/),
          type: 'function',
          function: { name: 'weatherTool', arguments: JSON.stringify({ city: 'Weather in Moscow?' }) },
        },
      ]);

      const second = await provider.chat(
        {
          model: 'yandex-pro',
          tools: [weatherTool],
          tool_choice: 'auto',
          parallel_tool_calls: true,
          messages: [
            { role: 'user', content: 'Weather in Moscow?' },
            { role: 'assistant', content: null, tool_calls: calls },
            { role: 'tool', tool_call_id: calls[0].id, content: '8°C' },
          ],
        },
        ctx(),
      );
      expect(second.choices[0]).toMatchObject({
        message: { role: 'assistant', content: `Tool result: 8°C ${ANSWER_PADDING}` },
        finish_reason: 'stop',
      });
    });

    it('should not call a tool when tool_choice is none', async () => {
      const completion = await provider.chat(ask('Hello there', { tools: [weatherTool], tool_choice: 'none' }), ctx());
      expect(completion.choices[0]).toMatchObject({ message: { content: HELLO_ANSWER }, finish_reason: 'stop' });
    });
  });

  describe('stream', () => {
    it('should turn cumulative lines into deltas: role first, no duplicated text, finish, then usage', async () => {
      // chunk-delay makes every NDJSON line arrive in its own TCP write.
      const stream = await provider.chatStream(ask('Hello there [[fault:chunk-delay=5]]', { stream: true }), ctx());
      const chunks = await collect(stream);
      const pieces = splitIntoChunks(HELLO_ANSWER, CHUNKS);

      const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
      expect(contentChunks.map((c) => c.choices[0].delta.content)).toEqual(pieces);
      expect(contentOf(chunks)).toBe(HELLO_ANSWER);
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.filter((c) => c.choices[0]?.delta.role)).toHaveLength(1);
      expect(finishesOf(chunks)).toEqual(['stop']);
      expect(chunks).toHaveLength(CHUNKS + 2);
      expect(chunks.at(-2)?.choices[0]).toEqual({ index: 0, delta: {}, finish_reason: 'stop', logprobs: null });
      // The prompt counts the raw user text, fault directive included: "Be brief Hello there [[fault:…]]".
      expect(chunks.at(-1)).toMatchObject({
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 8, total_tokens: 13 },
      });
      expect(chunks.every((c) => c.id === 'chatcmpl-test' && c.model === 'yandex-pro')).toBe(true);
    });

    it('should stream a tool call as one chunk with all tool_calls, then finish tool_calls', async () => {
      const chunks = await collect(
        await provider.chatStream(ask('Moscow', { stream: true, tools: [weatherTool] }), ctx()),
      );
      expect(chunks).toHaveLength(3);
      expect(chunks[0].choices[0].delta).toEqual({
        role: 'assistant',
        tool_calls: [
          {
            index: 0,
            id: expect.stringMatching(/^call_/),
            type: 'function',
            function: { name: 'weatherTool', arguments: '{"city":"Moscow"}' },
          },
        ],
      });
      expect(finishesOf(chunks)).toEqual(['tool_calls']);
      expect(chunks[2].usage?.total_tokens).toBeGreaterThan(0);
    });

    it('should finish a stream cut by max_tokens with length', async () => {
      const chunks = await collect(
        await provider.chatStream(ask('Hello there', { stream: true, max_tokens: 2 }), ctx()),
      );
      expect(contentOf(chunks)).toBe('Echo: Hello');
      expect(finishesOf(chunks)).toEqual(['length']);
    });

    it('should finish a filtered stream with content_filter and never emit the replacement text', async () => {
      const chunks = await collect(
        await provider.chatStream(ask('Hello there [[fault:content-filter]]', { stream: true }), ctx()),
      );
      const shown = splitIntoChunks(HELLO_ANSWER, CHUNKS)
        .slice(0, CHUNKS / 2)
        .join('');
      expect(contentOf(chunks)).toBe(shown);
      expect(JSON.stringify(chunks)).not.toContain(YANDEX_FILTER_TEXT);
      expect(finishesOf(chunks)).toEqual(['content_filter']);
      expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 5 });
    });

    it('should fail a stream whose body carries a mid-stream {"error": …} line, never finish it', async () => {
      const stream = await provider.chatStream(ask('Hello there [[fault:stream-error=2]]', { stream: true }), ctx());
      const seen: ChatCompletionChunk[] = [];
      const error = await failure(
        (async () => {
          for await (const chunk of stream) seen.push(chunk);
        })(),
      );
      expect(error.code).toBe(ErrorCode.UPSTREAM_5XX);
      expect(error.upstreamStatus).toBe(500);
      expect(error.message).toContain('Internal Server Error');
      expect(contentOf(seen)).toBe(splitIntoChunks(HELLO_ANSWER, CHUNKS).slice(0, 2).join(''));
      expect(finishesOf(seen)).toEqual([]);
    });
  });

  describe('embeddings', () => {
    const embeddingTarget = (): DeploymentTarget => withAccount({}, 'text-search-doc');

    it('should embed an array input one call per text, keeping the order, with summed usage', async () => {
      const input = ['alpha beta', 'gamma', 'delta epsilon zeta'];
      const result = await provider.embeddings({ model: 'emb', input }, ctx({ target: embeddingTarget() }));
      expect(result).toEqual({
        object: 'list',
        model: 'yandex-pro',
        data: input.map((text, index) => ({
          object: 'embedding',
          index,
          embedding: embeddingVector(text, YANDEX_EMBEDDING_DIMENSIONS),
        })),
        usage: { prompt_tokens: 6, total_tokens: 6 },
      });
      expect(result.data[0].embedding).toHaveLength(YANDEX_EMBEDDING_DIMENSIONS);
      expect(emulator.state.stats.snapshot().yandex.routes).toEqual({ 'POST /textEmbedding': 3 });
    });

    it('should embed a single string and pass dimensions as dim', async () => {
      const result = await provider.embeddings(
        { model: 'emb', input: 'x', dimensions: 64 },
        ctx({ target: embeddingTarget() }),
      );
      expect(result.data).toHaveLength(1);
      expect(result.data[0].embedding).toEqual(embeddingVector('x', 64));
      expect(result.usage).toEqual({ prompt_tokens: 1, total_tokens: 1 });
    });

    it('should run at most 8 calls at once and still keep the order of 20 inputs', async () => {
      const slow = createEmulatorServer({ yandexApiKey: KEY, yandexFolderId: FOLDER, latencyMs: 60 });
      const port = await slow.listen(0, '127.0.0.1');
      const slowHttp = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
      try {
        const slowTarget: DeploymentTarget = {
          ...embeddingTarget(),
          provider: { ...target.provider, base_url: `http://127.0.0.1:${port}/yandex/foundationModels/v1` },
        };
        const input = Array.from({ length: 20 }, (_, i) => `text number ${i}`);
        const started = Date.now();
        const result = await new YandexProvider(slowHttp, store).embeddings(
          { model: 'emb', input },
          ctx({ target: slowTarget }),
        );
        const elapsed = Date.now() - started;
        expect(result.data.map((d) => d.embedding)).toEqual(
          input.map((text) => embeddingVector(text, YANDEX_EMBEDDING_DIMENSIONS)),
        );
        expect(result.usage.prompt_tokens).toBe(60);
        // 20 calls of 60 ms, 8 at a time: 3 rounds (≥ 180 ms), far from 20 sequential rounds (1200 ms).
        expect(elapsed).toBeGreaterThanOrEqual(170);
        expect(elapsed).toBeLessThan(1000);
      } finally {
        await slowHttp.onApplicationShutdown();
        await slow.close();
      }
    });

    it('should refuse an unknown embedding model as MODEL_NOT_FOUND', async () => {
      const error = await failure(
        provider.embeddings({ model: 'emb', input: ['a', 'b'] }, ctx({ target: withAccount({}, 'text-search-nope') })),
      );
      expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
    });

    it('should refuse an empty input with 400 before any call', async () => {
      const error = await failure(provider.embeddings({ model: 'emb', input: [] }, ctx({ target: embeddingTarget() })));
      expect(error.code).toBe(ErrorCode.BAD_REQUEST);
      expect(emulator.state.stats.snapshot().yandex.requests).toBe(0);
    });
  });

  describe('models', () => {
    it('should probe with a real tokenize call and return the fixed model list', async () => {
      expect(await provider.listModels(target, new AbortController().signal)).toEqual([
        'yandexgpt',
        'yandexgpt/rc',
        'yandexgpt-lite',
        'aliceai-llm',
        'text-search-doc',
        'text-search-query',
      ]);
      expect(YANDEX_MODEL_IDS).toContain('yandexgpt');
      expect(emulator.state.stats.snapshot().yandex.routes).toEqual({ 'POST /tokenize': 1 });
    });

    it('should fail the probe when the credentials are wrong', async () => {
      const error = await failure(provider.listModels(withAccount({ api_key: 'nope' }), new AbortController().signal));
      expect(error.code).toBe(ErrorCode.UPSTREAM_AUTH);
    });
  });

  describe('errors', () => {
    it('should map a wrong folder (grpc 3) to BAD_REQUEST with the upstream message', async () => {
      const error = await failure(provider.chat(ask('hi'), ctx({ target: withAccount({ folder_id: 'b1gother' }) })));
      expect(error.code).toBe(ErrorCode.BAD_REQUEST);
      expect(error.upstreamStatus).toBe(400);
      expect(error.retryable).toBe(false);
      expect(error.message).toBe(
        `yandex: Specified folder ID 'b1gother' does not match with service account folder ID '${FOLDER}'`,
      );
    });

    it('should map an unknown model (grpc 5) to MODEL_NOT_FOUND', async () => {
      const error = await failure(provider.chat(ask('hi'), ctx({ target: withAccount({}, 'gpt-5') })));
      expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
      expect(error.upstreamStatus).toBe(404);
      expect(error.message).toBe(`yandex: Model gpt://${FOLDER}/gpt-5 not found`);
    });

    it('should map a quota 429 (grpc 8) to RATE_LIMITED with the Yandex message and Retry-After', async () => {
      const plain = await failure(provider.chat(ask('hi [[fault:status=429]]'), ctx()));
      expect(plain.code).toBe(ErrorCode.RATE_LIMITED);
      expect(plain.message).toBe(`yandex: ${YANDEX_QUOTA_MESSAGE}`);
      expect(plain.retryAfterMs).toBeUndefined();
      const withRetryAfter = await failure(provider.chat(ask('hi [[fault:status=429,retry-after=2]]'), ctx()));
      expect(withRetryAfter.code).toBe(ErrorCode.RATE_LIMITED);
      expect(withRetryAfter.retryAfterMs).toBe(2000);
    });
  });
});
