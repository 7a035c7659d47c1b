import 'reflect-metadata';
import type { ChatCompletionRequest, EmbeddingRequest } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, OpenAiCompatibleProvider, UpstreamHttpClient } from '@xrouter/providers';
import { collect } from '../support/outcomes';
import {
  ReplayServer,
  assembleStream,
  loadFixtures,
  sseEvents,
  type RecordedInteraction,
} from '../support/recorded-fixtures';

/** The folder of the recordings (a public id in the SDK's cassettes). */
const FOLDER = 'b1ghsjum2v37c2un8h64';
const API_KEY = 'AQVN-replay-key';
const PUBLIC_MODEL = 'public-model';
const fixtures = loadFixtures('yandex-openai');

/** `gpt://<folder>/qwen3-235b-a22b-fp8/latest` → `qwen3-235b-a22b-fp8/latest`: what the deployment names. */
function deploymentModel(uri: string): string {
  return uri.replace(/^(gpt|emb):\/\/[^/]+\//, '');
}

/** The request the client sent to XRouter for a recorded upstream request: the public model, no `stream` flag. */
function clientRequest(recorded: Record<string, unknown>): ChatCompletionRequest {
  const { model: _model, stream: _stream, ...rest } = recorded;
  return { ...rest, model: PUBLIC_MODEL } as ChatCompletionRequest;
}

const CHAT_FIXTURES = [...fixtures.values()].filter((f) => f.interactions[0].request.path === '/v1/chat/completions');
const plainCases = CHAT_FIXTURES.flatMap((f) =>
  f.interactions.filter((i) => i.request.body.stream !== true).map((i, n) => [`${f.name} #${n}`, i] as const),
);
const streamCases = CHAT_FIXTURES.flatMap((f) =>
  f.interactions.filter((i) => i.request.body.stream === true).map((i, n) => [`${f.name} #${n}`, i] as const),
);

describe('Yandex OpenAI-compatible endpoint (profile: yandex) replayed from real recordings', () => {
  const replay = new ReplayServer();
  let http: UpstreamHttpClient;
  let provider: OpenAiCompatibleProvider;
  let yandex: DeploymentTarget['provider'];

  beforeAll(async () => {
    await replay.start();
    const config = parseRoutingConfig(
      `providers:
  - id: yandex-openai
    type: openai
    profile: yandex
    base_url: ${replay.base}/v1
    accounts: [{ id: main, api_key: "\${KEY}", folder_id: ${FOLDER} }]
    free: true
models:
  - name: ${PUBLIC_MODEL}
    deployments: [{ provider: yandex-openai, model: qwen3-235b-a22b-fp8/latest }]
`,
      'test.yaml',
      { KEY: API_KEY },
    );
    yandex = config.providers[0];
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    provider = new OpenAiCompatibleProvider(http);
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await replay.stop();
  });

  const ctx = (upstreamModel: string): CallContext => ({
    target: {
      key: `yandex-openai/main/${upstreamModel}`,
      provider: yandex,
      account: yandex.accounts[0],
      upstreamModel,
    },
    signal: new AbortController().signal,
    requestId: 'req-replay',
    publicModel: PUBLIC_MODEL,
    completionId: 'chatcmpl-xrouter-1',
  });

  function expectRecordedRequest(interaction: RecordedInteraction): void {
    const sent = replay.last();
    expect(sent.method).toBe(interaction.request.method);
    expect(sent.path).toBe(interaction.request.path);
    expect(JSON.parse(sent.body)).toEqual(interaction.request.body);
    expect(sent.headers['content-type']).toBe('application/json');
    // Not in the recordings (the recorder removed it): the SDK's scheme for API keys, `_auth.py`.
    expect(sent.headers.authorization).toBe(`Api-Key ${API_KEY}`);
    // The documented folder header (`openai-compatibility.md`; the SDK sends it on GET /models).
    expect(sent.headers['openai-project']).toBe(FOLDER);
    expect(sent.headers['x-data-logging-enabled']).toBe('false');
  }

  it.each(plainCases)('should send %s as recorded and map the answer', async (_name, interaction) => {
    replay.answer(interaction.response);
    const model = deploymentModel(interaction.request.body.model as string);
    const completion = await provider.chat(clientRequest(interaction.request.body), ctx(model));
    expectRecordedRequest(interaction);

    const recorded = JSON.parse(interaction.response.body) as { choices: unknown[]; usage: unknown; created: number };
    expect(completion.id).toBe('chatcmpl-xrouter-1');
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe(PUBLIC_MODEL);
    expect(completion.created).toBe(recorded.created);
    expect(completion.choices).toEqual(recorded.choices);
    expect(completion.usage).toEqual(recorded.usage);
  });

  it.each(streamCases)('should stream %s as recorded, in OpenAI framing', async (_name, interaction) => {
    replay.answer(interaction.response);
    const model = deploymentModel(interaction.request.body.model as string);
    const chunks = await collect(await provider.chatStream(clientRequest(interaction.request.body), ctx(model)));
    expectRecordedRequest(interaction);

    const recorded = sseEvents(interaction.response.body);
    expect(recorded.done).toBe(true);
    const expected = assembleStream(recorded.events);
    const got = assembleStream(chunks);
    expect(got.content).toBe(expected.content);
    expect(got.finishReason).toBe(expected.finishReason);
    expect(got.usage).toEqual(expected.usage);
    // The recorded deltas after a call's first one carry `id: ""`, `type: ""`, `name: ""` (vLLM on Qwen3 and Gemma 3;
    // Gemma's first delta has `type: ""` too): clients get one id, type "function" and the name once.
    expect(got.toolCalls).toEqual(expected.toolCalls.map((call) => ({ ...call, type: 'function' })));
    for (const chunk of chunks) {
      expect(chunk.id).toBe('chatcmpl-xrouter-1');
      expect(chunk.model).toBe(PUBLIC_MODEL);
      expect(chunk.object).toBe('chat.completion.chunk');
      for (const call of chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? [])) {
        expect([call.id, call.type, call.function?.name]).not.toContain('');
      }
    }
  });

  it('should replay every recorded chat interaction (none left out of the cases above)', () => {
    const total = CHAT_FIXTURES.reduce((sum, f) => sum + f.interactions.length, 0);
    expect(plainCases.length + streamCases.length).toBe(total);
    expect(total).toBeGreaterThanOrEqual(22);
  });

  it('should send embeddings with the emb:// URI as recorded and map the answer', async () => {
    const interaction = fixtures.get('embeddings_run')!.interactions[0];
    replay.answer(interaction.response);
    const { model: _model, ...rest } = interaction.request.body;
    const request = { ...rest, model: PUBLIC_MODEL } as EmbeddingRequest;
    const result = await provider.embeddings(request, ctx(deploymentModel(interaction.request.body.model as string)));
    expectRecordedRequest(interaction);

    const recorded = JSON.parse(interaction.response.body) as { data: unknown[]; usage: unknown };
    expect(result.model).toBe(PUBLIC_MODEL);
    expect(result.data).toEqual(recorded.data);
    expect(result.usage).toEqual(recorded.usage);
  });

  it.each([
    ['qwen3-235b-a22b-fp8', `gpt://${FOLDER}/qwen3-235b-a22b-fp8/latest`],
    ['yandexgpt/rc', `gpt://${FOLDER}/yandexgpt/rc`],
    ['gpt://b1gother/gemma-3-27b-it/latest', 'gpt://b1gother/gemma-3-27b-it/latest'],
  ])('should send the chat model %s as %s', async (model, uri) => {
    replay.answer(fixtures.get('run')!.interactions[0].response);
    await provider.chat({ model: PUBLIC_MODEL, messages: [{ role: 'user', content: 'hello' }] }, ctx(model));
    expect((JSON.parse(replay.last().body) as { model: string }).model).toBe(uri);
  });

  it.each([
    ['text-search-doc', `emb://${FOLDER}/text-search-doc/latest`],
    ['text-search-query/latest', `emb://${FOLDER}/text-search-query/latest`],
    ['emb://b1gother/text-search-doc/rc', 'emb://b1gother/text-search-doc/rc'],
  ])('should send the embedding model %s as %s', async (model, uri) => {
    replay.answer(fixtures.get('embeddings_run')!.interactions[0].response);
    await provider.embeddings({ model: PUBLIC_MODEL, input: 'hello' }, ctx(model));
    expect((JSON.parse(replay.last().body) as { model: string }).model).toBe(uri);
  });

  it('should send x-data-logging-enabled: true only when the account opts in', async () => {
    replay.answer(fixtures.get('run')!.interactions[0].response);
    const base = ctx('qwen3-235b-a22b-fp8/latest');
    const optedIn = { ...base, target: { ...base.target, account: { ...base.target.account, data_logging: true } } };
    await provider.chat({ model: PUBLIC_MODEL, messages: [{ role: 'user', content: 'hello' }] }, optedIn);
    expect(replay.last().headers['x-data-logging-enabled']).toBe('true');
  });
});
