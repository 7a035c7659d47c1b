import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_GIGACHAT_AUTH_KEY } from './emulator-defaults';
import type { RunningEmulator } from './emulator-test-kit';
import { parseSse, startEmulator } from './emulator-test-kit';
import { functionsStateIdFor } from './gigachat.emulator';

/**
 * The GigaChat emulator answers in the shapes of the recorded exchanges (test/fixtures/recordings/gigachat): the
 * same field names and JSON value types, the same stream framing, the same error bodies and content types. Every
 * test that talks to the emulator then talks to something shaped like the real API.
 */

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'recordings', 'gigachat');

interface Fixture {
  request: { method: string; path: string; body: unknown };
  response: { status: number; headers: Record<string, string>; body: string };
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
}

/** Field names and JSON value types; an array is the shape of its first item (lengths differ on purpose). */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shapeOf(value[0])];
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
  }
  return value === null ? 'null' : typeof value;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('GigaChat emulator fidelity to the recorded exchanges', () => {
  let running: RunningEmulator;
  let token: string;

  beforeAll(async () => {
    running = await startEmulator({ chunks: 4 });
    const res = await fetch(`${running.base}/gigachat/api/v2/oauth`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${DEFAULT_GIGACHAT_AUTH_KEY}`,
        rquid: randomUUID(),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'scope=GIGACHAT_API_PERS',
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(shapeOf(body)).toEqual(shapeOf(JSON.parse(fixture('oauth').response.body)));
    expect(res.headers.get('content-type')).toBe(fixture('oauth').response.headers['content-type']);
    token = String(body.access_token);
  });
  afterAll(() => running.close());

  /** The emulator's answer to the fixture's recorded request, sent as the SDK sent it. */
  async function replay(recorded: Fixture, body: unknown = recorded.request.body): Promise<Response> {
    const path = recorded.request.path.replace(/^\/api/, '/gigachat/api');
    return fetch(`${running.base}${path}`, {
      method: recorded.request.method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(recorded.request.method === 'POST' ? { body: JSON.stringify(body) } : {}),
    });
  }

  function expectHeadersLike(res: Response, recorded: Fixture): void {
    expect(res.status).toBe(recorded.response.status);
    expect(res.headers.get('content-type')).toBe(recorded.response.headers['content-type']);
    expect(res.headers.get('x-request-id')).toMatch(UUID);
    expect(res.headers.get('x-session-id')).toMatch(UUID);
  }

  it.each(['chat_simple', 'chat_model_not_found', 'get_models', 'get_model', 'get_model_not_found'])(
    'should answer %s with the recorded status, content type and body shape',
    async (name) => {
      const recorded = fixture(name);
      const res = await replay(recorded);
      expectHeadersLike(res, recorded);
      expect(shapeOf(await res.json())).toEqual(shapeOf(JSON.parse(recorded.response.body)));
    },
  );

  it('should answer errors with the recorded body itself', async () => {
    for (const name of ['chat_model_not_found', 'get_model_not_found']) {
      const recorded = fixture(name);
      expect(await (await replay(recorded)).json()).toEqual(JSON.parse(recorded.response.body));
    }
  });

  it.each(['embeddings_single', 'embeddings_multiple', 'tokens_count_single'])(
    'should answer %s in the recorded shape (usage per item, top-level arrays)',
    async (name) => {
      const recorded = fixture(name);
      const res = await replay(recorded);
      expectHeadersLike(res, recorded);
      const body: unknown = await res.json();
      const expected: unknown = JSON.parse(recorded.response.body);
      expect(shapeOf(body)).toEqual(shapeOf(expected));
      if (Array.isArray(expected)) expect((body as unknown[]).length).toBe(expected.length);
      else expect((body as { data: unknown[] }).data).toHaveLength((expected as { data: unknown[] }).data.length);
    },
  );

  it('should stream with the recorded framing and event shapes (object chat.completion, usage with the finish)', async () => {
    const recorded = fixture('stream_simple');
    const res = await replay(recorded);
    expectHeadersLike(res, recorded);
    const raw = await res.text();
    const mine = parseSse(raw);
    const theirs = parseSse(recorded.response.body);
    expect(mine.done).toBe(true);
    expect(raw.endsWith('data: [DONE]\n\n')).toBe(true);
    const shapes = (events: unknown[]) => events.map(shapeOf);
    const [firstMine, ...restMine] = shapes(mine.events);
    const [firstTheirs, ...restTheirs] = shapes(theirs.events);
    expect(firstMine).toEqual(firstTheirs);
    expect(restMine[restMine.length - 1]).toEqual(restTheirs[restTheirs.length - 1]);
    expect(restMine.slice(0, -1).every((s) => JSON.stringify(s) === JSON.stringify(restTheirs[0]))).toBe(true);
    for (const event of mine.events) expect(event.object).toBe('chat.completion');
  });

  it.each(['chat_response_format_json_schema', 'chat_parse_json_schema'])(
    'should take the recorded flat response_format (%s) and answer JSON valid against its schema',
    async (name) => {
      const recorded = fixture(name);
      const res = await replay(recorded, { ...(recorded.request.body as object), model: 'GigaChat-2-Max' });
      expectHeadersLike(res, recorded);
      const body = (await res.json()) as { choices: [{ message: { content: string } }] };
      const expected = JSON.parse(recorded.response.body) as { object: string };
      // Recorded on GigaChat-3-Ultra with `object: "chat.completions"`; v1's other answers say "chat.completion".
      expect(shapeOf(body)).toEqual(shapeOf(expected));
      const parsed = JSON.parse(body.choices[0].message.content) as { answer: unknown; n: unknown };
      expect(Object.keys(parsed).sort()).toEqual(['answer', 'n']);
      expect(typeof parsed.answer).toBe('string');
      expect(Number.isInteger(parsed.n)).toBe(true);
      expect(parsed.n).toBeGreaterThanOrEqual(0);
      expect(parsed.n).toBeLessThanOrEqual(10);
      // Indented by 4 spaces, as recorded.
      expect(body.choices[0].message.content).toContain('\n    "answer"');
    },
  );

  it("should refuse OpenAI's nested response_format and json_object with 422, as a v1 field it does not take", async () => {
    const recorded = fixture('chat_response_format_json_schema');
    const request = recorded.request.body as { response_format: { schema: object } };
    for (const format of [
      { type: 'json_schema', json_schema: { name: 'Out', schema: request.response_format.schema } },
      { type: 'json_object' },
    ]) {
      const res = await replay(recorded, { ...request, model: 'GigaChat-2', response_format: format });
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({ status: 422, message: expect.stringMatching(/^Invalid params: /) });
    }
  });

  it('should check reasoning_effort and a replayed functions_state_id, and report precached tokens per session', async () => {
    const chat = (body: object, headers: Record<string, string> = {}) =>
      fetch(`${running.base}/gigachat/api/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ model: 'GigaChat', ...body }),
      });
    const user = { role: 'user', content: 'Hello there' };
    expect((await chat({ messages: [user], reasoning_effort: 'high' })).status).toBe(200);
    expect((await chat({ messages: [user], reasoning_effort: 'extreme' })).status).toBe(422);

    const call = { name: 'get_weather', arguments: { city: 'Omsk' } };
    const replayed = (stateId: string) => ({
      messages: [
        user,
        { role: 'assistant', content: '', function_call: call, functions_state_id: stateId },
        { role: 'function', name: 'get_weather', content: '{"t":5}' },
      ],
    });
    expect((await chat(replayed(functionsStateIdFor(call.name, call.arguments)))).status).toBe(200);
    expect((await chat(replayed(randomUUID()))).status).toBe(422);

    const session = { 'x-session-id': randomUUID() };
    const usage = async (messages: object[]) =>
      ((await (await chat({ messages }, session)).json()) as { usage: Record<string, number> }).usage;
    const system = { role: 'system', content: 'You are a terse assistant for tests' };
    expect((await usage([system, user])).precached_prompt_tokens).toBe(0);
    expect((await usage([system, { role: 'user', content: 'Another question' }])).precached_prompt_tokens).toBe(7);
  });
});
