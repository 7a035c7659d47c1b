import OpenAI from 'openai';
import { DEFAULT_MTS_API_KEY, DEFAULT_TBANK_API_KEY } from './emulator-defaults';
import { ANSWER_PADDING, THINK_BLOCK, embeddingVector } from './deterministic-answer';
import type { RunningEmulator } from './emulator-test-kit';
import { postJson, readJson, readSse, startEmulator } from './emulator-test-kit';

const MTS_AUTH = { authorization: `Bearer ${DEFAULT_MTS_API_KEY}` };
const TBANK_AUTH = { authorization: `Bearer ${DEFAULT_TBANK_API_KEY}` };
const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, days: { type: 'integer' }, unit: { type: 'string', enum: ['C', 'F'] } },
      required: ['city'],
    },
  },
};

describe('OpenAI-compatible emulator (MTS, T-Bank)', () => {
  let running: RunningEmulator;
  let mts: string;
  let tbank: string;

  beforeAll(async () => {
    running = await startEmulator();
    mts = `${running.base}/mts/v1`;
    tbank = `${running.base}/tbank/v1`;
  });
  afterAll(() => running.close());

  it('should answer a plain chat with the echo answer and word-count usage', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Hello there' }] },
      MTS_AUTH,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = await readJson(res);
    expect(body.id).toMatch(/^chatcmpl-emu-\d+$/);
    expect(body.object).toBe('chat.completion');
    expect(body.model).toBe('mws-gpt-alpha');
    expect(body.choices).toEqual([
      { index: 0, message: { role: 'assistant', content: HELLO_ANSWER }, logprobs: null, finish_reason: 'stop' },
    ]);
    expect(body.usage).toEqual({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 });
  });

  it('should not pad an answer to a message of eight words or more, and count every message in the prompt', async () => {
    const text = 'one two three four five six seven eight';
    const res = await postJson(
      `${mts}/chat/completions`,
      {
        model: 'qwen2.5-72b-instruct',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: [{ type: 'text', text }] },
        ],
      },
      MTS_AUTH,
    );
    const body = await readJson(res);
    expect(body.choices[0].message.content).toBe(`Echo: ${text}`);
    expect(body.usage).toEqual({ prompt_tokens: 10, completion_tokens: 9, total_tokens: 19 });
  });

  it('should cut the answer at max_tokens with finish_reason length', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', max_tokens: 3, messages: [{ role: 'user', content: 'Hello there' }] },
      MTS_AUTH,
    );
    const body = await readJson(res);
    expect(body.choices[0].message.content).toBe('Echo: Hello there');
    expect(body.choices[0].finish_reason).toBe('length');
    expect(body.usage.completion_tokens).toBe(3);
  });

  it('should stream SSE chunks with one id, a role chunk, 8 content chunks, finish, usage and [DONE]', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      {
        model: 'mws-gpt-alpha',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Hello there' }],
      },
      MTS_AUTH,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    expect(events).toHaveLength(1 + 8 + 2);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
    expect(events.every((e) => e.object === 'chat.completion.chunk')).toBe(true);
    const choices = events.map((e) => e.choices[0]);
    expect(choices[0].delta).toEqual({ role: 'assistant', content: '' });
    const content = choices.slice(1, 9).map((c) => c.delta.content as string);
    expect(content.every((piece) => piece.length > 0)).toBe(true);
    expect(content.join('')).toBe(HELLO_ANSWER);
    expect(choices[9]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    expect(events[10].choices).toEqual([]);
    expect(events[10].usage).toEqual({ prompt_tokens: 2, completion_tokens: 8, total_tokens: 10 });
  });

  it('should leave the usage chunk out when include_usage is not set', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', stream: true, messages: [{ role: 'user', content: 'Hi' }] },
      MTS_AUTH,
    );
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    expect(events).toHaveLength(10);
    expect(events.some((e) => e.usage !== undefined)).toBe(false);
  });

  it('should call the first tool with deterministic arguments when the last message is the user', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', tools: [weatherTool], messages: [{ role: 'user', content: 'Weather in Moscow' }] },
      MTS_AUTH,
    );
    const body = await readJson(res);
    const choice = body.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_emu_\d+$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"Weather in Moscow","days":3,"unit":"C"}' },
      },
    ]);
    // countTokens('get_weather {"city":"Weather in Moscow","days":3,"unit":"C"}') = 4 words
    expect(body.usage.completion_tokens).toBe(4);
  });

  it('should answer the tool result with text on the second turn', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      {
        model: 'mws-gpt-alpha',
        tools: [weatherTool],
        messages: [
          { role: 'user', content: 'Weather in Moscow' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Moscow"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":5}' },
        ],
      },
      MTS_AUTH,
    );
    const body = await readJson(res);
    expect(body.choices[0].message).toEqual({
      role: 'assistant',
      content: `Tool result: {"temp":5} ${ANSWER_PADDING}`,
    });
    expect(body.choices[0].finish_reason).toBe('stop');
  });

  it('should answer text when tool_choice is none', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      {
        model: 'mws-gpt-alpha',
        tools: [weatherTool],
        tool_choice: 'none',
        messages: [{ role: 'user', content: 'Hi' }],
      },
      MTS_AUTH,
    );
    const body = await readJson(res);
    expect(body.choices[0].message.content).toBe(`Echo: Hi ${ANSWER_PADDING}`);
  });

  it('should stream a tool call as a name chunk followed by argument fragments', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      {
        model: 'mws-gpt-alpha',
        stream: true,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Weather in Moscow' }],
      },
      MTS_AUTH,
    );
    const { events, done } = await readSse(res);
    expect(done).toBe(true);
    const deltas = events.map((e) => e.choices[0]);
    expect(deltas[1].delta.tool_calls[0]).toEqual({
      index: 0,
      id: expect.stringMatching(/^call_emu_/),
      type: 'function',
      function: { name: 'get_weather', arguments: '' },
    });
    const args = deltas
      .slice(2, -1)
      .map((c) => c.delta.tool_calls[0].function.arguments as string)
      .join('');
    expect(JSON.parse(args)).toEqual({ city: 'Weather in Moscow', days: 3, unit: 'C' });
    expect(deltas[deltas.length - 1].finish_reason).toBe('tool_calls');
  });

  it('should list and describe the MTS models', async () => {
    const list = await readJson(await fetch(`${mts}/models`, { headers: MTS_AUTH }));
    expect(list.object).toBe('list');
    expect(list.data.map((m) => m.id)).toEqual(['mws-gpt-alpha', 'qwen2.5-72b-instruct', 'bge-m3']);
    const one = await readJson(await fetch(`${mts}/models/bge-m3`, { headers: MTS_AUTH }));
    expect(one).toEqual({ id: 'bge-m3', object: 'model', created: 1735689600, owned_by: 'mts' });
    const missing = await fetch(`${mts}/models/nope`, { headers: MTS_AUTH });
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).error.code).toBe('model_not_found');
  });

  it('should return deterministic 16-dimensional embeddings for a string or an array', async () => {
    const res = await postJson(`${mts}/embeddings`, { model: 'bge-m3', input: ['alpha beta', 'gamma'] }, MTS_AUTH);
    const body = await readJson(res);
    expect(body.object).toBe('list');
    expect(body.model).toBe('bge-m3');
    expect(body.data).toHaveLength(2);
    expect(body.data[0]).toEqual({ object: 'embedding', index: 0, embedding: embeddingVector('alpha beta') });
    expect(body.data[0].embedding).toHaveLength(16);
    expect(body.data[1].embedding).not.toEqual(body.data[0].embedding);
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    const single = await readJson(await postJson(`${mts}/embeddings`, { model: 'bge-m3', input: 'gamma' }, MTS_AUTH));
    expect(single.data[0].embedding).toEqual(body.data[1].embedding);
  });

  it('should reject a wrong key with 401 in the OpenAI envelope', async () => {
    const res = await postJson(
      `${mts}/chat/completions`,
      { model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'Hi' }] },
      { authorization: 'Bearer wrong' },
    );
    expect(res.status).toBe(401);
    expect(await readJson(res)).toEqual({
      error: {
        message: 'Incorrect API key provided.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    const tbankKeyOnMts = await fetch(`${mts}/models`, { headers: TBANK_AUTH });
    expect(tbankKeyOnMts.status).toBe(401);
  });

  it('should answer 404 model_not_found for an unknown model and 400 for bad bodies', async () => {
    const unknown = await postJson(
      `${mts}/chat/completions`,
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] },
      MTS_AUTH,
    );
    expect(unknown.status).toBe(404);
    expect((await readJson(unknown)).error).toMatchObject({ code: 'model_not_found', param: 'model' });

    const broken = await fetch(`${mts}/chat/completions`, { method: 'POST', headers: MTS_AUTH, body: '{"model":' });
    expect(broken.status).toBe(400);
    expect((await readJson(broken)).error.type).toBe('invalid_request_error');

    const noMessages = await postJson(`${mts}/chat/completions`, { model: 'mws-gpt-alpha' }, MTS_AUTH);
    expect(noMessages.status).toBe(400);
    expect((await readJson(noMessages)).error.param).toBe('messages');

    const embeddingModel = await postJson(
      `${mts}/chat/completions`,
      { model: 'bge-m3', messages: [{ role: 'user', content: 'Hi' }] },
      MTS_AUTH,
    );
    expect(embeddingModel.status).toBe(400);
  });

  describe('T-Bank', () => {
    const chat = (model: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      postJson(
        `${tbank}/chat/completions`,
        { model, messages: [{ role: 'user', content: 'Hello there' }], ...extra },
        { ...TBANK_AUTH, ...headers },
      ).then(readJson);

    it('should start T-pro content with a <think> block by default', async () => {
      const body = await chat('t-tech/T-pro-it-2.0');
      expect(body.choices[0].message.content).toBe(THINK_BLOCK + HELLO_ANSWER);
      expect(body.usage.completion_tokens).toBe(8 + 8); // the think block has 8 words
    });

    it('should not think when chat_template_kwargs.enable_thinking is false, or on T-lite', async () => {
      const off = await chat('t-tech/T-pro-it-2.0', { chat_template_kwargs: { enable_thinking: false } });
      expect(off.choices[0].message.content).toBe(HELLO_ANSWER);
      const lite = await chat('t-tech/T-lite-it-2.1');
      expect(lite.choices[0].message.content).toBe(HELLO_ANSWER);
    });

    it('should think on T-lite when x-emulator-think is 1, and stream the think block as content', async () => {
      const body = await chat('t-tech/T-lite-it-2.1', {}, { 'x-emulator-think': '1' });
      expect(body.choices[0].message.content).toBe(THINK_BLOCK + HELLO_ANSWER);
      const res = await postJson(
        `${tbank}/chat/completions`,
        { model: 't-tech/T-pro-it-2.0', stream: true, messages: [{ role: 'user', content: 'Hello there' }] },
        TBANK_AUTH,
      );
      const { events } = await readSse(res);
      const text = events.map((e) => e.choices[0]?.delta?.content ?? '').join('');
      expect(text).toBe(THINK_BLOCK + HELLO_ANSWER);
    });

    it('should list the T-Bank models and refuse the MTS key', async () => {
      const list = await readJson(await fetch(`${tbank}/models`, { headers: TBANK_AUTH }));
      expect(list.data.map((m) => m.id)).toEqual(['t-tech/T-pro-it-2.0', 't-tech/T-lite-it-2.1']);
      const one = await readJson(await fetch(`${tbank}/models/t-tech/T-lite-it-2.1`, { headers: TBANK_AUTH }));
      expect(one.owned_by).toBe('t-tech');
      expect((await fetch(`${tbank}/models`, { headers: MTS_AUTH })).status).toBe(401);
    });
  });

  describe('with the official openai client', () => {
    it('should complete, stream and embed', async () => {
      const client = new OpenAI({ apiKey: DEFAULT_MTS_API_KEY, baseURL: mts, maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'mws-gpt-alpha',
        messages: [{ role: 'user', content: 'Hello there' }],
      });
      expect(completion.choices[0].message.content).toBe(HELLO_ANSWER);

      const stream = await client.chat.completions.create({
        model: 'mws-gpt-alpha',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'Hello there' }],
      });
      let text = '';
      let totalTokens = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        totalTokens = chunk.usage?.total_tokens ?? totalTokens;
      }
      expect(text).toBe(HELLO_ANSWER);
      expect(totalTokens).toBe(10);

      const embedding = await client.embeddings.create({ model: 'bge-m3', input: 'alpha beta' });
      const expected = Array.from(new Float32Array(embeddingVector('alpha beta')));
      expect(embedding.data[0].embedding).toEqual(expected);
    });
  });
});
