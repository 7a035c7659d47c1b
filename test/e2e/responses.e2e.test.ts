import OpenAI from 'openai';
import type { UsageReportRow } from '@xrouter/usage';
import { callApi } from '../support/api';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-responses-0123456789';

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

/** The Responses API over every provider, through the running gateway and its emulators, with the official client. */
describe('the Responses API with the official openai client', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  let client: OpenAI;
  let userId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, USAGE_FLUSH_INTERVAL_MS: '200' });
    const user = await callApi<{ id: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/users', {
      email: 'responses@example.com',
      role: 'user',
    });
    userId = user.json.id;
    client = (await clientOf(userId)).client;
  }, 60_000);

  /** A new key of the user, and the official client with it. */
  async function clientOf(user: string): Promise<{ client: OpenAI; keyId: string }> {
    const key = await callApi<{ id: string; key: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/api-keys', {
      name: 'responses',
      user_id: user,
    });
    return {
      client: new OpenAI({ apiKey: key.json.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }),
      keyId: key.json.id,
    };
  }

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  // The emulators count words; T-Pro's hidden <think> block (8 words) is billed as output tokens, as upstream.
  const models: Array<[string, string, number]> = [
    ['GigaChat-2', 'gigachat', 9],
    ['yandexgpt', 'yandex', 9],
    ['mws-gpt-alpha', 'mts', 9],
    ['t-pro', 'tbank', 17],
  ];
  const expected = 'Echo: Привет из теста The provider emulator answers deterministically.';

  describe.each(models)('%s (%s)', (model, provider, outputTokens) => {
    it('should answer text as a response with a message and usage', async () => {
      const { data, response } = await client.responses
        .create({ model, input: 'Привет из теста', instructions: 'Отвечай кратко', store: false })
        .withResponse();
      expect(response.headers.get('x-xrouter-provider')).toBe(provider);
      expect(data.id).toMatch(/^resp_/);
      expect(data.object).toBe('response');
      expect(data.status).toBe('completed');
      expect(data.model).toBe(model);
      expect(data.output_text).toBe(expected);
      expect(data.output).toEqual([
        expect.objectContaining({
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [expect.objectContaining({ type: 'output_text', text: expected })],
        }),
      ]);
      expect(data.usage).toEqual({
        input_tokens: 5,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: outputTokens,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 5 + outputTokens,
      });
    });

    it('should make a function call and answer its function_call_output', async () => {
      const input: OpenAI.Responses.ResponseInputItem[] = [{ role: 'user', content: 'Москва' }];
      const first = await client.responses.create({ model, input, tools: [weatherTool], store: false });
      const call = first.output.find((item) => item.type === 'function_call');
      if (call?.type !== 'function_call') throw new Error(`expected a function call: ${JSON.stringify(first)}`);
      expect(call.name).toBe('get_weather');
      expect(JSON.parse(call.arguments)).toEqual({ city: 'Москва' });
      expect(call.call_id).toBeTruthy();

      const second = await client.responses.create({
        model,
        tools: [weatherTool],
        store: false,
        input: [
          ...input,
          ...(first.output as OpenAI.Responses.ResponseInputItem[]),
          { type: 'function_call_output', call_id: call.call_id, output: '{"t": -3}' },
        ],
      });
      expect(second.output_text).toContain('Tool result:');
      expect(second.status).toBe('completed');
    });

    it('should accept text.format json_schema and echo it', async () => {
      const format = {
        type: 'json_schema' as const,
        name: 'weather',
        schema: { type: 'object', properties: { t: { type: 'number' } }, required: ['t'] },
        strict: false,
      };
      const response = await client.responses.create({ model, input: 'Погода', text: { format }, store: false });
      expect(response.status).toBe('completed');
      expect(response.text?.format).toEqual(format);
      // Each emulator answers JSON valid against the schema, as its provider's structured output does.
      expect(JSON.parse(response.output_text)).toEqual({ t: expect.any(Number) });
    });

    it('should continue a stored response with previous_response_id, its input and output as history', async () => {
      const first = await client.responses.create({ model, input: 'Меня зовут Пётр', instructions: 'Будь краток' });
      const second = await client.responses.create({
        model,
        input: 'Как меня зовут?',
        previous_response_id: first.id,
      });
      expect(second.previous_response_id).toBe(first.id);
      // The history is "Меня зовут Пётр" (3) and its answer "Echo: Меня зовут Пётр The provider …" (9), then the
      // new input (3); the first request's instructions are not carried over.
      expect(second.usage?.input_tokens).toBe(15);
      expect(second.output_text).toBe('Echo: Как меня зовут? The provider emulator answers deterministically.');
    });

    it('should stream the answer as Responses events, and the SDK helpers should assemble it', async () => {
      const stream = client.responses.stream({ model, input: 'Привет из теста', store: false });
      let deltas = '';
      stream.on('response.output_text.delta', (event) => (deltas += event.delta));
      const types: string[] = [];
      const sequence: number[] = [];
      for await (const event of stream) {
        types.push(event.type);
        sequence.push(event.sequence_number);
      }
      const final = await stream.finalResponse();
      expect(deltas).toBe(expected);
      expect(final.output_text).toBe(expected);
      expect(final.status).toBe('completed');
      expect(final.usage?.output_tokens).toBe(outputTokens);
      expect(types.slice(0, 4)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
      ]);
      expect(types.slice(-4)).toEqual([
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      expect(sequence).toEqual(sequence.map((_, i) => i));
    });

    it('should stream a function call with its argument events', async () => {
      const stream = client.responses.stream({ model, input: 'Москва', tools: [weatherTool], store: false });
      let args = '';
      stream.on('response.function_call_arguments.delta', (event) => (args += event.delta));
      const final = await stream.finalResponse();
      const call = final.output.find((item) => item.type === 'function_call');
      expect(call).toEqual(expect.objectContaining({ name: 'get_weather', status: 'completed' }));
      expect(JSON.parse(args)).toEqual({ city: 'Москва' });
    });
  });

  it('should mark an answer cut by max_output_tokens incomplete', async () => {
    const response = await client.responses.create({
      model: 'mws-gpt-alpha',
      input: 'Привет из теста',
      max_output_tokens: 2,
      store: false,
    });
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output_text).toBe('Echo: Привет');
  });

  it('should end a stream that fails after its first byte with response.failed, never a completion', async () => {
    const stream = client.responses.stream({
      model: 'mws-gpt-alpha',
      input: 'Привет из теста [[fault:truncate-after=2]]',
      store: false,
    });
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types.at(-1)).toBe('response.failed');
    expect(types).not.toContain('response.completed');
  });

  it('should bring an input_image to GigaChat as an uploaded file, and refuse it by name on a model without images', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const input: OpenAI.Responses.ResponseInput = [
      {
        role: 'user',
        content: [
          { type: 'input_text', text: 'Что на картинке?' },
          { type: 'input_image', image_url: `data:image/png;base64,${png}`, detail: 'auto' },
        ],
      },
    ];
    const seen = await client.responses.create({ model: 'GigaChat-2', input, store: false });
    expect(seen.output_text).toMatch(/\[saw image\/png, 70 bytes, sha256 [0-9a-f]{16}\]$/);
    await expect(client.responses.create({ model: 'yandexgpt', input, store: false })).rejects.toMatchObject({
      status: 400,
      param: 'input',
    });
  });

  it.each<[string, Record<string, unknown>, string | null]>([
    ['an unknown field', { model: 'GigaChat-2', input: 'hi', frobnicate: true }, 'frobnicate'],
    ['a hosted tool', { model: 'GigaChat-2', input: 'hi', tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['background mode', { model: 'GigaChat-2', input: 'hi', background: true }, 'background'],
    ['no input', { model: 'GigaChat-2' }, 'input'],
    ['a bad item', { model: 'GigaChat-2', input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type'],
    ['a temperature of 3', { model: 'GigaChat-2', input: 'hi', temperature: 3 }, 'temperature'],
    ['an input of a number', { model: 'GigaChat-2', input: 5 }, 'input'],
    [
      'a NUL in previous_response_id',
      { model: 'GigaChat-2', input: 'hi', previous_response_id: 'r\u0000' },
      'previous_response_id',
    ],
    // GigaChat has no json_object mode: the capability rules refuse it, by the Responses name of the field.
    [
      'json_object on GigaChat',
      { model: 'GigaChat-2', input: 'hi', text: { format: { type: 'json_object' } } },
      'text.format',
    ],
  ])("should refuse %s with a 400 in OpenAI's envelope", async (_what, body, param) => {
    const answer = await callApi<{ error: { type: string; param: string | null; message: string } }>(
      gateway.url,
      ADMIN_KEY,
      'POST',
      '/v1/responses',
      body,
    );
    expect(answer.status).toBe(400);
    expect(answer.json.error).toEqual(expect.objectContaining({ type: 'invalid_request_error', param }));
  });

  describe('stored responses', () => {
    it('should keep a response (store defaults to true) and answer it by id with its input items', async () => {
      const created = await client.responses.create({
        model: 'GigaChat-2',
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Привет из теста' }] }],
        metadata: { trace: 'e2e' },
      });
      const retrieved = await client.responses.retrieve(created.id);
      expect(retrieved).toEqual(created);
      expect(retrieved).toEqual(expect.objectContaining({ store: true }));
      expect(retrieved.metadata).toEqual({ trace: 'e2e' });

      const items = await client.responses.inputItems.list(created.id);
      expect(items.data).toEqual([
        expect.objectContaining({
          type: 'message',
          role: 'user',
          id: expect.stringMatching(/^msg_/),
          content: [{ type: 'input_text', text: 'Привет из теста' }],
        }),
      ]);
    });

    it('should keep a streamed response once it is complete', async () => {
      const stream = client.responses.stream({ model: 'yandexgpt', input: 'Привет из теста' });
      const final = await stream.finalResponse();
      const retrieved = await client.responses.retrieve(final.id);
      expect(retrieved.status).toBe('completed');
      expect(retrieved.output_text).toBe(expected);
      expect(retrieved.usage).toEqual(final.usage);
    });

    it('should page input items in either order', async () => {
      const created = await client.responses.create({
        model: 'mws-gpt-alpha',
        // Items with the client's own ids, which the SDK's input types do not declare on easy messages.
        input: [
          { role: 'user', content: 'один', id: 'msg_one' },
          { role: 'assistant', content: 'два', id: 'msg_two' },
          { role: 'user', content: 'три', id: 'msg_three' },
        ] as unknown as OpenAI.Responses.ResponseInput,
      });
      const desc = await client.responses.inputItems.list(created.id, { limit: 2 });
      expect(desc.data.map((i) => i.id)).toEqual(['msg_three', 'msg_two']);
      expect(desc.has_more).toBe(true);
      const rest = await client.responses.inputItems.list(created.id, { limit: 2, after: 'msg_two' });
      expect(rest.data.map((i) => i.id)).toEqual(['msg_one']);
      const asc = await client.responses.inputItems.list(created.id, { order: 'asc' });
      expect(asc.data.map((i) => i.id)).toEqual(['msg_one', 'msg_two', 'msg_three']);
    });

    it('should keep nothing with store: false', async () => {
      const created = await client.responses.create({ model: 'GigaChat-2', input: 'hi', store: false });
      await expect(client.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    });

    it("should answer another user's response as not found, everywhere, and let its owner delete it", async () => {
      const created = await client.responses.create({ model: 'GigaChat-2', input: 'секрет' });
      const other = await callApi<{ id: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/users', {
        email: 'responses-other@example.com',
        role: 'user',
      });
      const { client: stranger } = await clientOf(other.json.id);
      await expect(stranger.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
      await expect(stranger.responses.inputItems.list(created.id)).rejects.toMatchObject({ status: 404 });
      await expect(stranger.responses.delete(created.id)).rejects.toMatchObject({ status: 404 });
      await expect(
        stranger.responses.create({ model: 'GigaChat-2', input: 'и?', previous_response_id: created.id }),
      ).rejects.toMatchObject({ status: 404, param: 'previous_response_id' });

      // Another key of the same user sees it.
      const { client: sameUser } = await clientOf(userId);
      expect((await sameUser.responses.retrieve(created.id)).id).toBe(created.id);

      const deleted = await callApi<{ id: string; deleted: boolean }>(
        gateway.url,
        ADMIN_KEY,
        'DELETE',
        `/v1/responses/${created.id}`,
      );
      expect(deleted.status).toBe(404); // the admin is another user too
      await client.responses.delete(created.id);
      await expect(client.responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
      await expect(client.responses.delete(created.id)).rejects.toMatchObject({ status: 404 });
    });

    it('should refuse to replay a stored response as a stream, by name', async () => {
      const created = await client.responses.create({ model: 'GigaChat-2', input: 'hi' });
      const { status, json } = await callApi<{ error: { param: string } }>(
        gateway.url,
        ADMIN_KEY,
        'GET',
        `/v1/responses/${created.id}?stream=true`,
      );
      expect({ status, param: json.error.param }).toEqual({ status: 400, param: 'stream' });
    });

    it('should answer an id with a NUL as not found, not as a database error', async () => {
      for (const method of ['GET', 'DELETE']) {
        const answer = await callApi(gateway.url, ADMIN_KEY, method, '/v1/responses/resp_%00x');
        expect(answer.status).toBe(404);
      }
    });

    it('should refuse an unknown previous_response_id with a 404 naming the field', async () => {
      await expect(
        client.responses.create({ model: 'GigaChat-2', input: 'hi', previous_response_id: 'resp_nope' }),
      ).rejects.toMatchObject({ status: 404, param: 'previous_response_id' });
    });
  });

  it('should count each response in the usage rows like a chat completion', async () => {
    const { client: own, keyId } = await clientOf(userId);
    await own.responses.create({ model: 'yandexgpt', input: 'hello there', store: false });
    await own.responses.stream({ model: 'yandexgpt', input: 'hello there', store: false }).finalResponse();
    const rows = async () =>
      (await callApi<UsageReportRow[]>(gateway.url, ADMIN_KEY, 'GET', `/admin/usage?key_id=${keyId}&group_by=model`))
        .json;
    let report = await rows();
    for (let i = 0; i < 50 && (report[0]?.requests ?? 0) < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      report = await rows();
    }
    // "hello there": 2 input tokens; "Echo: hello there The provider emulator answers deterministically.": 8.
    expect(report).toEqual([
      expect.objectContaining({ group: 'yandexgpt', requests: 2, errors: 0, promptTokens: 4, completionTokens: 16 }),
    ]);
  });
});
