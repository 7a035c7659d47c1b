import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-yandex-openai-0123';
/** A 1x1 PNG (70 bytes). */
const PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Yandex's OpenAI-compatible models through the running gateway and its bundled emulator, with the openai client. */
describe('Yandex OpenAI-compatible models through the gateway', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let client: OpenAI;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY });
    client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should list the models only reachable there, served by the emulator', async () => {
    const ids = new Map((await client.models.list()).data.map((model) => [model.id, model.owned_by]));
    for (const id of ['qwen3-235b', 'gpt-oss-120b', 'gpt-oss-20b', 'gemma-3-27b']) {
      expect(ids.get(id)).toBe('emulator');
    }
  });

  it('should pass an image part to Gemma 3, which says what it saw', async () => {
    const { data, response } = await client.chat.completions
      .create({
        model: 'gemma-3-27b',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in the picture?' },
              { type: 'image_url', image_url: { url: PNG } },
            ],
          },
        ],
      })
      .withResponse();
    expect(response.headers.get('x-xrouter-provider')).toBe('yandex-openai');
    expect(data.model).toBe('gemma-3-27b');
    expect(data.choices[0].message.content).toMatch(/^Image: image\/png, 70 bytes, sha256 [0-9a-f]{12}\. Echo: What/);
  });

  it('should answer response_format json_schema with JSON of the schema', async () => {
    const completion = await client.chat.completions.create({
      model: 'qwen3-235b',
      messages: [{ role: 'user', content: 'collect all numbers from: 5, 4, a, 1' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'numbers',
          schema: {
            type: 'object',
            properties: { numbers: { type: 'array', items: { type: 'integer' } }, note: { type: 'string' } },
            required: ['numbers', 'note'],
          },
        },
      },
    });
    const parsed = JSON.parse(completion.choices[0].message.content ?? '') as Record<string, unknown>;
    expect(Array.isArray(parsed.numbers)).toBe(true);
    expect(typeof parsed.note).toBe('string');
  });

  it('should stream a Qwen3 tool call as one OpenAI tool call with our ids', async () => {
    const stream = await client.chat.completions.create({
      model: 'qwen3-235b',
      stream: true,
      messages: [{ role: 'user', content: 'How much it would be 7@8?' }],
      tools: [
        {
          type: 'function',
          function: {
            name: 'calculator',
            parameters: { type: 'object', properties: { expression: { type: 'string' } }, required: ['expression'] },
          },
        },
      ],
    });
    const ids = new Set<string>();
    const call = { id: '', type: '', name: '', arguments: '' };
    let finish: string | null = null;
    for await (const chunk of stream) {
      ids.add(chunk.id);
      expect(chunk.model).toBe('qwen3-235b');
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        call.id += delta.id ?? '';
        call.type += delta.type ?? '';
        call.name += delta.function?.name ?? '';
        call.arguments += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    expect(call.id).toMatch(/^chatcmpl-tool-[0-9a-f]{32}$/);
    expect(call.type).toBe('function');
    expect(call.name).toBe('calculator');
    expect(JSON.parse(call.arguments)).toEqual({ expression: 'How much it would be 7@8?' });
    expect(finish).toBe('tool_calls');
  });
});
