import 'reflect-metadata';
import { ErrorCode } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, OpenAiCompatibleProvider, UpstreamHttpClient } from '@xrouter/providers';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { collect, failure } from '../support/outcomes';
import { loadFixtures, sseEvents, type RecordedInteraction } from '../support/recorded-fixtures';

/**
 * The emulator's Yandex OpenAI-compatible flavour (`/yandex/v1`) against the recorded exchanges: for every recorded
 * request, the emulator's answer has the recorded shape — the same keys at every level, the same value types, the
 * same empty strings, the same event framing per model, and ids and model fields of the recorded form. The text
 * differs (the emulator answers deterministically).
 */
const RECORDED_FOLDER = 'b1ghsjum2v37c2un8h64';
const FOLDER = 'b1gemufolder';
const KEY = 'AQVN-emulator-key';
const fixtures = loadFixtures('yandex-openai');

/** A JSON value's skeleton: keys (sorted) and value types; empty strings kept apart; array items as a set. */
function shape(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${[...new Set(value.map(shape))].sort().join('|')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([key, item]) => `${key}:${shape(item)}`).join(',')}}`;
  }
  if (value === '') return "''";
  return typeof value;
}

/** An id's form: hex digits as `x` (`chatcmpl-xxxxxxxx-…`, a bare UUID, `chatcmpl-tool-xxx…`, a function name). */
function form(id: unknown): string {
  return String(id).replace(/[0-9a-f]/g, 'x');
}

interface Answer {
  id?: unknown;
  model?: unknown;
  choices?: Array<{
    message?: { tool_calls?: Array<{ id?: unknown }> };
    delta?: { tool_calls?: Array<{ id?: unknown }> };
  }>;
}

function toolCallIds(answer: Answer): string[] {
  return (answer.choices ?? [])
    .flatMap((choice) => choice.message?.tool_calls ?? choice.delta?.tool_calls ?? [])
    .map((call) => form(call.id))
    .filter((id) => id !== '');
}

function withFolder(body: Record<string, unknown>): Record<string, unknown> {
  return { ...body, model: String(body.model).replace(`//${RECORDED_FOLDER}/`, `//${FOLDER}/`) };
}

const cases = [...fixtures.values()].flatMap((fixture) =>
  fixture.interactions.map((interaction, n) => [`${fixture.name} #${n}`, interaction] as const),
);

describe('Yandex OpenAI-compatible emulator, held to the recordings', () => {
  let emulator: EmulatorServer;
  let base: string;

  beforeAll(async () => {
    // Two pieces per answer: the recorded short answers have as few events.
    emulator = createEmulatorServer({ yandexApiKey: KEY, yandexFolderId: FOLDER, chunks: 2 });
    base = `http://127.0.0.1:${await emulator.listen(0)}/yandex`;
  });
  afterAll(() => emulator.close());

  async function replay(interaction: RecordedInteraction): Promise<Response> {
    return fetch(`${base}${interaction.request.path}`, {
      method: interaction.request.method,
      headers: { 'content-type': 'application/json', authorization: `Api-Key ${KEY}` },
      body: JSON.stringify(withFolder(interaction.request.body)),
    });
  }

  it.each(cases)('should answer %s in the recorded shape', async (_name, interaction) => {
    const res = await replay(interaction);
    const text = await res.text();
    expect(res.status).toBe(interaction.response.status);
    expect(res.headers.get('content-type')).toBe(interaction.response.content_type);
    const recordedModel = (raw: unknown) => String(raw).replace(`//${RECORDED_FOLDER}/`, `//${FOLDER}/`);

    if (interaction.response.content_type === 'text/event-stream') {
      const got = sseEvents(text);
      const recorded = sseEvents(interaction.response.body);
      expect(got.done).toBe(recorded.done);
      expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
      expect(shape(got.events[0])).toBe(shape(recorded.events[0]));
      expect(shape(got.events.at(-1))).toBe(shape(recorded.events.at(-1)));
      expect(new Set(got.events.map(shape))).toEqual(new Set(recorded.events.map(shape)));
      const first = got.events[0] as Answer;
      expect(form(first.id)).toBe(form((recorded.events[0] as Answer).id));
      expect(first.model).toBe(recordedModel((recorded.events[0] as Answer).model));
      expect(got.events.every((event) => (event as Answer).id === first.id)).toBe(true);
      expect(new Set(got.events.flatMap((e) => toolCallIds(e as Answer)))).toEqual(
        new Set(recorded.events.flatMap((e) => toolCallIds(e as Answer))),
      );
      return;
    }
    const got = JSON.parse(text) as Answer;
    const recorded = JSON.parse(interaction.response.body) as Answer;
    expect(shape(got)).toBe(shape(recorded));
    expect(form(got.id)).toBe(form(recorded.id));
    expect(got.model).toBe(recordedModel(recorded.model));
    expect(toolCallIds(got)).toEqual(toolCallIds(recorded));
  });

  it.each([
    [
      'structured_output_json_schema',
      (value: Record<string, unknown>) => expect(Array.isArray(value.numbers)).toBe(true),
    ],
    ['structured_output_simple_json', (value: Record<string, unknown>) => expect(typeof value.output).toBe('string')],
  ])('should answer %s with JSON content, as recorded', async (name, check) => {
    const interaction = fixtures.get(name)!.interactions[0];
    const body = (await (await replay(interaction)).json()) as { choices: Array<{ message: { content: string } }> };
    const recorded = JSON.parse(interaction.response.body) as { choices: Array<{ message: { content: string } }> };
    check(JSON.parse(recorded.choices[0].message.content) as Record<string, unknown>);
    check(JSON.parse(body.choices[0].message.content) as Record<string, unknown>);
  });

  it('should answer with 256 dimensions, as recorded', async () => {
    const interaction = fixtures.get('embeddings_run')!.interactions[0];
    const body = (await (await replay(interaction)).json()) as { data: Array<{ embedding: number[] }> };
    const recorded = JSON.parse(interaction.response.body) as { data: Array<{ embedding: number[] }> };
    expect(body.data[0].embedding).toHaveLength(recorded.data[0].embedding.length);
  });

  it('should answer a Gemma 3 image part with what it saw', async () => {
    const interaction = fixtures.get('multimodal')!.interactions[0];
    const body = (await (await replay(interaction)).json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0].message.content).toMatch(/^Image: image\/png, 70 bytes, sha256 [0-9a-f]{12}\. Echo: What/);
  });

  it('should refuse an image part to a model without vision, naming the model', async () => {
    const interaction = fixtures.get('multimodal')!.interactions[0];
    const request = { ...interaction, request: { ...interaction.request, body: { ...interaction.request.body } } };
    request.request.body.model = `gpt://${RECORDED_FOLDER}/yandexgpt/latest`;
    const res = await replay(request);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('yandexgpt');
  });

  it('should refuse a request without the API key (401) and a model of another folder (400)', async () => {
    const run = fixtures.get('run')!.interactions[0];
    const unauthorised = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(withFolder(run.request.body)),
    });
    expect(unauthorised.status).toBe(401);
    const foreign = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Api-Key ${KEY}` },
      body: JSON.stringify(run.request.body),
    });
    expect(foreign.status).toBe(400);
  });

  it('should accept the documented Bearer form of the API key with the OpenAI-Project folder header', async () => {
    const run = fixtures.get('run')!.interactions[0];
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, 'openai-project': FOLDER },
      body: JSON.stringify(withFolder(run.request.body)),
    });
    expect(res.status).toBe(200);
  });
});

describe('the profile: yandex adapter against the Yandex OpenAI-compatible emulator', () => {
  let emulator: EmulatorServer;
  let http: UpstreamHttpClient;
  let provider: OpenAiCompatibleProvider;
  let ctx: (upstreamModel: string) => CallContext;

  beforeAll(async () => {
    emulator = createEmulatorServer({ yandexApiKey: KEY, yandexFolderId: FOLDER });
    const port = await emulator.listen(0);
    const config = parseRoutingConfig(
      `providers:
  - id: yandex-openai
    type: openai
    profile: yandex
    base_url: http://127.0.0.1:${port}/yandex/v1
    accounts: [{ id: main, api_key: ${KEY}, folder_id: ${FOLDER} }]
    free: true
models:
  - name: qwen3-235b
    deployments: [{ provider: yandex-openai, model: qwen3-235b-a22b-fp8 }]
`,
      'test.yaml',
      {},
    );
    const yandex = config.providers[0];
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    provider = new OpenAiCompatibleProvider(http);
    ctx = (upstreamModel) => ({
      target: {
        key: `yandex-openai/main/${upstreamModel}`,
        provider: yandex,
        account: yandex.accounts[0],
        upstreamModel,
      },
      signal: new AbortController().signal,
      requestId: 'req-1',
      publicModel: 'public',
      completionId: 'chatcmpl-ours',
    });
  });
  afterAll(async () => {
    await http.onApplicationShutdown();
    await emulator.close();
  });

  const tool = (name: string) => ({
    type: 'function' as const,
    function: { name, parameters: { type: 'object', properties: { numbers: { type: 'array' } } } },
  });

  it('should get both asked-for tool calls from YandexGPT in one turn, ids as the model gives them', async () => {
    const completion = await provider.chat(
      {
        model: 'public',
        messages: [{ role: 'user', content: 'do a SOMETHING and SPOONING with 5, 4, 1' }],
        tools: [tool('something'), tool('spooning')],
      },
      ctx('yandexgpt/rc'),
    );
    const calls = completion.choices[0].message.tool_calls ?? [];
    expect(calls.map((call) => [call.id, call.function.name])).toEqual([
      ['something', 'something'],
      ['spooning', 'spooning'],
    ]);
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
  });

  it('should stream a Qwen3 answer with its unasked usage', async () => {
    const chunks = await collect(
      await provider.chatStream(
        { model: 'public', messages: [{ role: 'user', content: 'hello' }] },
        ctx('qwen3-235b-a22b-fp8'),
      ),
    );
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain('Echo: hello');
    expect(chunks.at(-1)?.usage).toEqual(expect.objectContaining({ prompt_tokens: 1 }));
  });

  it('should map an image to a model without vision to BAD_REQUEST and an unknown model to MODEL_NOT_FOUND', async () => {
    const image = await failure(
      provider.chat(
        {
          model: 'public',
          messages: [
            { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] },
          ],
        },
        ctx('yandexgpt'),
      ),
    );
    expect(image.code).toBe(ErrorCode.BAD_REQUEST);
    const unknown = await failure(
      provider.chat({ model: 'public', messages: [{ role: 'user', content: 'hi' }] }, ctx('no-such-model')),
    );
    expect(unknown.code).toBe(ErrorCode.MODEL_NOT_FOUND);
  });

  it('should list the models as gpt:// URIs of the folder (the health probe)', async () => {
    const ids = await provider.listModels(ctx('qwen3-235b-a22b-fp8').target, new AbortController().signal);
    expect(ids).toContain(`gpt://${FOLDER}/qwen3-235b-a22b-fp8/latest`);
  });
});
