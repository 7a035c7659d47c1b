import GigaChat from 'gigachat';
import OpenAI from 'openai';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { startEmulator, type RunningEmulator } from '../../apps/provider-emulator/src/emulator-test-kit';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-gigachat-wire-0123';

const SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string' },
    temperature: { type: 'integer', minimum: -60, maximum: 60 },
    tags: { type: 'array', items: { type: 'string' } },
  },
  required: ['city', 'temperature', 'tags'],
  additionalProperties: false,
};

/** GigaChat's own wire features through the running gateway and its bundled GigaChat emulator, with real clients. */
describe('GigaChat through the gateway: json_schema, reasoning_effort, functions_state_id, session caching', () => {
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

  it('should give the openai client JSON valid against its json_schema (parse), plain and streamed', async () => {
    const response_format = {
      type: 'json_schema' as const,
      json_schema: { name: 'weather', schema: SCHEMA, strict: true },
    };
    const completion = await client.chat.completions.parse({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'Weather in Omsk as JSON' }],
      response_format,
    });
    const parsed = completion.choices[0].message.parsed as { city: string; temperature: number; tags: string[] };
    expect(parsed).toEqual({ city: 'Weather in Omsk as JSON', temperature: 3, tags: ['Weather in Omsk as JSON'] });

    const stream = await client.chat.completions.create({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'Weather in Omsk as JSON' }],
      response_format,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(JSON.parse(text)).toEqual(parsed);
  });

  it('should refuse json_object for GigaChat with a 400 naming response_format and the model', async () => {
    const error = await client.chat.completions
      .create({
        model: 'GigaChat-2',
        messages: [{ role: 'user', content: 'json please' }],
        response_format: { type: 'json_object' },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = error as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.param).toBe('response_format');
    expect(bad.message).toContain('GigaChat-2');
  });

  it('should pass reasoning_effort high and refuse minimal by name', async () => {
    const ok = await client.chat.completions.create({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'think' }],
      reasoning_effort: 'high',
    });
    expect(ok.choices[0].finish_reason).toBe('stop');
    const error = (await client.chat.completions
      .create({ model: 'GigaChat-2', messages: [{ role: 'user', content: 'think' }], reasoning_effort: 'minimal' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.status).toBe(400);
    expect(error.param).toBe('reasoning_effort');
  });

  it('should carry functions_state_id in the tool call id across turns (the emulator refuses a wrong one)', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
    ];
    const first = await client.chat.completions.create({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'Omsk' }],
      tools,
    });
    const call = first.choices[0].message.tool_calls![0];
    expect(call.id).toMatch(/^call_[0-9a-f]{4}_gsu[0-9a-f]{32}$/);
    const next = (id: string) =>
      client.chat.completions.create({
        model: 'GigaChat-2',
        tools,
        messages: [
          { role: 'user', content: 'Omsk' },
          { role: 'assistant', content: null, tool_calls: [{ ...call, id }] },
          { role: 'tool', tool_call_id: id, content: '{"t":-3}' },
        ],
      });
    const answer = await next(call.id);
    expect(answer.choices[0].message.content).toContain('Tool result: {"t":-3}');
    const forged = (await next(`call_0000_gsu${'0'.repeat(32)}`).catch((e: unknown) => e)) as { status: number };
    expect(forged.status).toBe(400);
  });

  it('should report the prompt cached under an x-session-id header as cached_tokens, plain and streamed', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'You are a terse assistant for tests' },
      { role: 'user', content: 'Привет' },
    ];
    const headers = { 'x-session-id': `e2e-${Date.now()}` };
    const first = await client.chat.completions.create({ model: 'GigaChat-2', messages }, { headers });
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const stream = await client.chat.completions.create(
      { model: 'GigaChat-2', messages, stream: true, stream_options: { include_usage: true } },
      { headers },
    );
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(8);
  });
});

/** The official gigachat client speaks GigaChat's own wire: it gets schema-valid JSON from the emulator directly. */
describe('the official gigachat client with response_format json_schema', () => {
  let running: RunningEmulator;

  beforeAll(async () => {
    running = await startEmulator();
    jest.spyOn(console, 'info').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await running.close();
  });

  it('should get JSON valid against the schema it sent', async () => {
    const giga = new GigaChat({
      credentials: DEFAULT_GIGACHAT_AUTH_KEY,
      scope: 'GIGACHAT_API_PERS',
      baseUrl: `${running.base}/gigachat/api/v1`,
      authUrl: `${running.base}/gigachat/api/v2/oauth`,
      model: 'GigaChat-2',
      timeout: 5,
    });
    // gigachat-js 0.0.20 has no response_format in its Chat type, but sends the object it is given as the body.
    const completion = await giga.chat({
      messages: [{ role: 'user', content: 'Omsk' }],
      response_format: { type: 'json_schema', schema: SCHEMA, strict: true },
    } as Parameters<GigaChat['chat']>[0]);
    expect(JSON.parse(completion.choices[0].message.content ?? '')).toEqual({
      city: 'Omsk',
      temperature: 3,
      tags: ['Omsk'],
    });
  });
});
