import OpenAI from 'openai';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-every-provider-0123';

/** Every provider behind the same OpenAI surface, through the running gateway and its bundled emulators. */
describe('every provider through the gateway with the official openai client', () => {
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

  // The emulators count words; T-Pro's hidden <think> block (8 words) is billed as completion tokens, as upstream.
  const chatModels: Array<[string, string, number]> = [
    ['GigaChat-2', 'gigachat', 9],
    ['yandexgpt', 'yandex', 9],
    ['mws-gpt-alpha', 'mts', 9],
    ['t-pro', 'tbank', 17],
    ['qwen3-235b', 'yandex-openai', 9],
  ];

  describe.each(chatModels)('%s (%s)', (model, provider, completionTokens) => {
    const expected = 'Echo: Привет из теста The provider emulator answers deterministically.';

    it('should answer a plain completion with OpenAI-shaped usage', async () => {
      const { data, response } = await client.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'Привет из теста' }] })
        .withResponse();
      expect(response.headers.get('x-xrouter-provider')).toBe(provider);
      expect(data.object).toBe('chat.completion');
      expect(data.model).toBe(model);
      expect(data.choices[0].message.content).toBe(expected);
      expect(data.choices[0].finish_reason).toBe('stop');
      expect(data.usage).toEqual(
        expect.objectContaining({
          prompt_tokens: 3,
          completion_tokens: completionTokens,
          total_tokens: 3 + completionTokens,
        }),
      );
    });

    it('should stream the same answer with usage at the end', async () => {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: 'Привет из теста' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe(expected);
      expect(finish).toBe('stop');
      expect(usage).toEqual(expect.objectContaining({ prompt_tokens: 3, completion_tokens: completionTokens }));
    });

    it('should make a tool call and answer the tool result', async () => {
      const tools: OpenAI.ChatCompletionTool[] = [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Weather in a city',
            parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
          },
        },
      ];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Москва' }];
      const first = await client.chat.completions.create({ model, messages, tools });
      const call = first.choices[0].message.tool_calls?.[0];
      expect(first.choices[0].finish_reason).toBe('tool_calls');
      expect(call?.type).toBe('function');
      if (call?.type !== 'function') throw new Error('expected a function call');
      expect(call.function.name).toBe('get_weather');
      expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Москва' });
      expect(call.id).toBeTruthy();

      const second = await client.chat.completions.create({
        model,
        tools,
        messages: [
          ...messages,
          first.choices[0].message,
          { role: 'tool', tool_call_id: call.id, content: '{"t": -3}' },
        ],
      });
      expect(second.choices[0].message.content).toContain('Tool result:');
      expect(second.choices[0].finish_reason).toBe('stop');
    });
  });

  it.each([
    ['bge-m3', 'mts'],
    ['gigachat-embeddings', 'gigachat'],
    ['text-search-doc', 'yandex'],
  ])('should create embeddings with %s (%s), in input order', async (model, provider) => {
    const { data, response } = await client.embeddings.create({ model, input: ['один', 'два', 'три'] }).withResponse();
    expect(response.headers.get('x-xrouter-provider')).toBe(provider);
    expect(data.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(data.data[0].embedding.length).toBeGreaterThan(0);
    expect(data.data[0].embedding).not.toEqual(data.data[1].embedding);
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);
  });
});
