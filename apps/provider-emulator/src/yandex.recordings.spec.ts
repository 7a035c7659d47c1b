import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_YANDEX_API_KEY, DEFAULT_YANDEX_FOLDER_ID } from './emulator-defaults';
import type { RunningEmulator } from './emulator-test-kit';
import { parseNdjson, postJson, startEmulator } from './emulator-test-kit';

/**
 * The emulator's Yandex answers have the shapes of the recorded ones (test/fixtures/recordings/yandex-native): the
 * same fields at the same places with the same JSON types (int64 counters as strings, `special` only when true,
 * `completionTokensDetails` present), so every test that talks to the emulator sees what the real API sends.
 * Values differ (the emulator answers deterministically); over REST completions are wrapped in `result`.
 */

const FIXTURES = join(__dirname, '../../../test/fixtures/recordings/yandex-native');
type Json = Record<string, unknown>;
interface Recorded {
  request: Json;
  response: Json;
  stream: Json[];
}
const recorded = (name: string): Recorded =>
  JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Recorded;

/**
 * The JSON type tree of a value: objects by key (sorted), arrays by the union of their items' shapes. A tool call's
 * `arguments` is the model's own content (the emulator cannot read numbers out of prose): only its type counts.
 */
function shapeOf(value: unknown, key = ''): unknown {
  if (key === 'arguments')
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? 'object' : typeof value;
  if (Array.isArray(value)) {
    const shapes = [...new Set(value.map((item) => JSON.stringify(shapeOf(item, key))))].sort();
    return shapes.map((shape) => JSON.parse(shape) as unknown);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((field) => [field, shapeOf((value as Json)[field], field)]),
    );
  }
  return value === null ? 'null' : typeof value;
}

/**
 * Answers recorded from the older model (07.03.2024) predate `completionTokensDetails`; the newer ones (09.02.2025)
 * carry it, empty, and the emulator answers as the newer ones.
 */
const withDetails = (message: Json): Json => ({
  ...message,
  usage: { completionTokensDetails: {}, ...(message.usage as Json) },
});

const AUTH = { authorization: `Api-Key ${DEFAULT_YANDEX_API_KEY}` };
const URI = `gpt://${DEFAULT_YANDEX_FOLDER_ID}/yandexgpt/rc`;

describe('YandexGPT emulator against the recorded shapes', () => {
  let running: RunningEmulator;
  let api: string;
  beforeAll(async () => {
    running = await startEmulator();
    api = `${running.base}/yandex/foundationModels/v1`;
  });
  afterAll(() => running.close());

  /** The recorded request with the emulator's folder, sent to the emulator. */
  const replay = async (name: string, path = '/completion', wrap = true): Promise<unknown> => {
    const request = JSON.stringify(recorded(name).request).replaceAll('b1ghsjum2v37c2un8h64', DEFAULT_YANDEX_FOLDER_ID);
    const res = await postJson(`${api}${path}`, JSON.parse(request), AUTH);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    return wrap ? body.result : body;
  };

  it.each(['chat', 'function_result', 'structured_output_json_schema', 'structured_output_simple_json'])(
    'should answer the %s request in the recorded shape',
    async (name) => {
      expect(shapeOf(await replay(name))).toEqual(shapeOf(withDetails(recorded(name).response)));
    },
  );

  it.each(['function_call', 'tool_choice_function'])(
    'should answer the %s request with a tool call in the recorded shape',
    async (name) => {
      expect(shapeOf(await replay(name))).toEqual(shapeOf(recorded(name).response));
    },
  );

  it('should stream lines in the recorded shape, every one wrapped in result', async () => {
    const request = { ...recorded('run_stream').request, modelUri: URI.replace('/rc', '/latest') };
    const res = await postJson(`${api}/completion`, request, AUTH);
    const lines = parseNdjson(await res.text()) as unknown as Json[];
    const shapes = new Set(lines.map((line) => JSON.stringify(shapeOf(line.result))));
    const expected = new Set(
      recorded('run_stream').stream.map((message) => JSON.stringify(shapeOf(withDetails(message)))),
    );
    expect(shapes).toEqual(expected);
    expect(lines.every((line) => Object.keys(line).join() === 'result')).toBe(true);
  });

  it('should answer a text embedding in the recorded shape and size', async () => {
    const body = (await replay('text_embedding', '/textEmbedding', false)) as Json;
    expect(shapeOf(body)).toEqual(shapeOf(recorded('text_embedding').response));
    expect(body.embedding).toHaveLength((recorded('text_embedding').response.embedding as unknown[]).length);
  });

  it('should answer tokenize in the recorded shape: bare, ids as strings, special only when true', async () => {
    const res = await postJson(`${api}/tokenize`, { modelUri: URI, text: 'ping pong' }, AUTH);
    const body = (await res.json()) as Json;
    const ordinary = (recorded('tokenize').response.tokens as Json[]).filter((token) => token.special === undefined);
    expect(shapeOf(body)).toEqual(shapeOf({ ...recorded('tokenize').response, tokens: ordinary }));
  });
});
