import { ChatCompletionRequest, ChatMessage, ErrorCode, GatewayError, ToolDefinition } from '@xrouter/common';
import type { AccountConfig, ProviderConfig } from '@xrouter/config';
import type { CallContext } from '../llm-provider.interface';
import {
  GIGACHAT_MIN_TEMPERATURE,
  fromGigaChatCompletion,
  fromGigaChatEmbeddings,
  fromGigaChatStreamEvent,
  modelIdsOf,
  newStreamState,
  toFinishReason,
  toFunctionChoice,
  toFunctionContent,
  toGigaChatEmbeddingRequest,
  toGigaChatMessages,
  functionsStateIdOf,
  toGigaChatRequest,
  toGigaChatResponseFormat,
  toGigaChatTemperature,
  toolCallIdFor,
  toUsage,
} from './gigachat.mapper';
import type { GigaChatFunction, GigaChatStreamEvent } from './gigachat.types';

const provider = {
  id: 'giga',
  type: 'gigachat',
  base_url: 'http://x/api/v1',
  accounts: [],
} as unknown as ProviderConfig;
const account: AccountConfig = { id: 'main', auth_key: 'a2V5', scope: 'GIGACHAT_API_PERS' };
const ctx: CallContext = {
  target: { key: 'giga/main/GigaChat', provider, account, upstreamModel: 'GigaChat' },
  signal: new AbortController().signal,
  requestId: 'req-1',
  publicModel: 'giga-public',
  completionId: 'chatcmpl-test',
};

const CALL_ID = /^call_[\w-]{24}$/;
const weather: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather by city',
    parameters: { type: 'object', properties: { city: { type: 'string' } } },
  },
};
const call = (id: string, name: string, args: string) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});

function caught(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

describe('toGigaChatMessages', () => {
  it.each<[string, ChatMessage[], unknown[]]>([
    ['a user text', [{ role: 'user', content: 'hi' }], [{ role: 'user', content: 'hi' }]],
    [
      'content parts joined with newlines',
      [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
      [{ role: 'user', content: 'a\nb' }],
    ],
    [
      'system and developer messages merged into one first system message',
      [
        { role: 'user', content: 'u1' },
        { role: 'system', content: 's1' },
        { role: 'assistant', content: 'a1' },
        { role: 'developer', content: [{ type: 'text', text: 'd1' }] },
        { role: 'user', content: 'u2' },
      ],
      [
        { role: 'system', content: 's1\n\nd1' },
        { role: 'user', content: 'u1' },
        { role: 'assistant', content: 'a1' },
        { role: 'user', content: 'u2' },
      ],
    ],
    ['an assistant text', [{ role: 'assistant', content: null }], [{ role: 'assistant', content: '' }]],
    [
      'one assistant tool call as function_call with object arguments and empty content',
      [{ role: 'assistant', content: 'thinking', tool_calls: [call('call_1', 'get_weather', '{"city":"Moscow"}')] }],
      [{ role: 'assistant', content: '', function_call: { name: 'get_weather', arguments: { city: 'Moscow' } } }],
    ],
    [
      'a tool result that is JSON, passed as-is, named after its call',
      [
        { role: 'assistant', content: null, tool_calls: [call('call_1', 'get_weather', '{}')] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":-3}' },
      ],
      [
        { role: 'assistant', content: '', function_call: { name: 'get_weather', arguments: {} } },
        { role: 'function', name: 'get_weather', content: '{"temp":-3}' },
      ],
    ],
    [
      'a plain-text tool result, wrapped as a JSON string',
      [
        { role: 'assistant', content: null, tool_calls: [call('call_1', 'get_weather', '')] },
        { role: 'tool', tool_call_id: 'call_1', content: '-3 C' },
      ],
      [
        { role: 'assistant', content: '', function_call: { name: 'get_weather', arguments: {} } },
        { role: 'function', name: 'get_weather', content: '"-3 C"' },
      ],
    ],
  ])('should map %s', (_title, messages, expected) => {
    expect(toGigaChatMessages(messages)).toEqual(expected);
  });

  it.each<[string, ChatMessage[], string]>([
    [
      'two tool calls in one assistant message',
      [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [call('c1', 'f', '{}'), call('c2', 'g', '{}')] },
      ],
      'messages[1].tool_calls',
    ],
    [
      'tool call arguments that are not a JSON object',
      [{ role: 'assistant', content: null, tool_calls: [call('c1', 'f', '[1,2]')] }],
      'messages[0].tool_calls[0].function.arguments',
    ],
    [
      'a tool message answering an unknown call',
      [{ role: 'tool', tool_call_id: 'nope', content: 'x' }],
      'messages[0].tool_call_id',
    ],
    [
      'an image part',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      'messages[0].content[0]',
    ],
  ])('should refuse %s with 400 naming the param', (_title, messages, param) => {
    const error = caught(() => toGigaChatMessages(messages));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.status).toBe(400);
    expect(error.param).toBe(param);
  });
});

describe('toFunctionContent', () => {
  it.each([
    ['{"a":1}', '{"a":1}'],
    ['[1,2]', '[1,2]'],
    ['42', '42'],
    ['"quoted"', '"quoted"'],
    ['sunny', '"sunny"'],
    ['Привет "мир"', '"Привет \\"мир\\""'],
    ['', '""'],
  ])('should send %j as %j', (output, expected) => {
    expect(toFunctionContent(output)).toBe(expected);
  });
});

describe('toFunctionChoice', () => {
  const one: GigaChatFunction[] = [{ name: 'f', parameters: {} }];
  const two: GigaChatFunction[] = [...one, { name: 'g', parameters: {} }];
  it.each<[string, Parameters<typeof toFunctionChoice>[0], GigaChatFunction[], unknown]>([
    ['no choice', undefined, one, undefined],
    ['null (no choice)', null, one, undefined],
    ['auto', 'auto', one, 'auto'],
    ['none', 'none', one, 'none'],
    ['named', { type: 'function', function: { name: 'g' } }, two, { name: 'g' }],
    ['required with one tool (forced by name)', 'required', one, { name: 'f' }],
    ['required with several tools (auto)', 'required', two, 'auto'],
    ['auto without tools (nothing sent)', 'auto', [], undefined],
  ])('should map %s', (_title, choice, functions, expected) => {
    expect(toFunctionChoice(choice, functions)).toEqual(expected);
  });

  it('should refuse a named tool that is not among the tools', () => {
    const error = caught(() => toFunctionChoice({ type: 'function', function: { name: 'zzz' } }, one));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe('tool_choice.function.name');
  });
});

describe('toGigaChatTemperature', () => {
  it.each([
    [undefined, undefined],
    [0, GIGACHAT_MIN_TEMPERATURE],
    [-1, GIGACHAT_MIN_TEMPERATURE],
    [0.0005, 0.0005],
    [0.7, 0.7],
    [1.5, 1.5],
  ])('should send %p as %p', (input, expected) => {
    expect(toGigaChatTemperature(input)).toBe(expected);
  });
});

describe('toGigaChatRequest', () => {
  it('should keep supported parameters, rename tools, and leave out what asks for nothing', () => {
    const request: ChatCompletionRequest = {
      model: 'giga-public',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: 0,
      top_p: 0.9,
      max_tokens: 100,
      tools: [weather],
      tool_choice: 'auto',
      stop: [],
      presence_penalty: 0,
      frequency_penalty: 0,
      n: 1,
      user: 'u',
      logprobs: false,
      parallel_tool_calls: false,
      stream_options: { include_usage: true },
      response_format: { type: 'text' },
      repetition_penalty: 1.1,
      update_interval: 0.5,
      profanity_check: false,
    };
    expect(toGigaChatRequest(request, 'GigaChat-2-Max', false)).toEqual({
      model: 'GigaChat-2-Max',
      messages: [{ role: 'user', content: 'hi' }],
      temperature: GIGACHAT_MIN_TEMPERATURE,
      top_p: 0.9,
      max_tokens: 100,
      functions: [
        {
          name: 'get_weather',
          description: 'Weather by city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      ],
      function_call: 'auto',
      repetition_penalty: 1.1,
      update_interval: 0.5,
      profanity_check: false,
    });
  });

  it.each([
    [{ max_tokens: 10 }, 10],
    [{ max_completion_tokens: 20 }, 20],
    [{ max_tokens: 10, max_completion_tokens: 20 }, 20],
    [{}, undefined],
  ])('should send max tokens of %j as %p', (limits, expected) => {
    const body = toGigaChatRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], ...limits }, 'G', false);
    expect(body.max_tokens).toBe(expected);
  });

  it('should set stream only for streams and fill parameters of a tool that has none', () => {
    const body = toGigaChatRequest(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f' } }],
      },
      'G',
      true,
    );
    expect(body.stream).toBe(true);
    expect(body.functions).toEqual([{ name: 'f', parameters: { type: 'object', properties: {} } }]);
    expect(body.function_call).toBeUndefined();
    expect(toGigaChatRequest({ model: 'm', messages: [] }, 'G', false)).toEqual({ model: 'G', messages: [] });
  });

  it('should refuse a tool that is not a function', () => {
    const error = caught(() =>
      toGigaChatRequest(
        { model: 'm', messages: [], tools: [{ type: 'code_interpreter' } as unknown as ToolDefinition] },
        'G',
        false,
      ),
    );
    expect(error.param).toBe('tools[0]');
  });
});

describe('toFinishReason', () => {
  it.each([
    ['stop', 'stop'],
    ['length', 'length'],
    ['function_call', 'tool_calls'],
    ['blacklist', 'content_filter'],
    ['error', 'stop'],
    ['something-new', 'stop'],
    [undefined, null],
    [null, null],
  ])('should map %p to %p', (reason, expected) => {
    expect(toFinishReason(reason)).toBe(expected);
  });
});

describe('toUsage', () => {
  it.each([
    [
      { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50, precached_prompt_tokens: 2 },
      { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50, prompt_tokens_details: { cached_tokens: 2 } },
    ],
    [
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, precached_prompt_tokens: 0 },
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } },
    ],
    [
      { prompt_tokens: 3, completion_tokens: 4 },
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    ],
    [{}, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }],
  ])('should map %j', (usage, expected) => {
    expect(toUsage(usage)).toEqual(expected);
  });
});

describe('fromGigaChatCompletion', () => {
  it('should map a text answer with the gateway id, the public model, upstream created and cached tokens', () => {
    const completion = fromGigaChatCompletion(ctx, {
      choices: [{ message: { role: 'assistant', content: 'Заказ в пути.' }, index: 0, finish_reason: 'stop' }],
      created: 1768996171,
      model: 'GigaChat-2-Pro:2.0.28.2',
      object: 'chat.completion',
      usage: { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50, precached_prompt_tokens: 2 },
    });
    expect(completion).toEqual({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1768996171,
      model: 'giga-public',
      choices: [
        { index: 0, message: { role: 'assistant', content: 'Заказ в пути.' }, finish_reason: 'stop', logprobs: null },
      ],
      usage: { prompt_tokens: 41, completion_tokens: 9, total_tokens: 50, prompt_tokens_details: { cached_tokens: 2 } },
    });
  });

  it.each([
    ['an object', { order_id: 'A-17' }],
    ['a JSON string', '{"order_id":"A-17"}'],
  ])('should map a function call with arguments as %s to one tool call with content null', (_t, args) => {
    const completion = fromGigaChatCompletion(ctx, {
      choices: [
        {
          message: { role: 'assistant', content: '', function_call: { name: 'get_order_status', arguments: args } },
          index: 0,
          finish_reason: 'function_call',
        },
      ],
      created: 1760434335,
    });
    const choice = completion.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toHaveLength(1);
    expect(choice.message.tool_calls?.[0]).toEqual({
      id: expect.stringMatching(CALL_ID),
      type: 'function',
      function: { name: 'get_order_status', arguments: '{"order_id":"A-17"}' },
    });
    expect(completion.usage).toBeUndefined();
  });

  it('should map blacklist to content_filter and use now when created is missing', () => {
    const before = Math.floor(Date.now() / 1000);
    const completion = fromGigaChatCompletion(ctx, {
      choices: [{ message: { content: 'no' }, finish_reason: 'blacklist' }],
    });
    expect(completion.choices[0].finish_reason).toBe('content_filter');
    expect(completion.created).toBeGreaterThanOrEqual(before);
  });

  it('should refuse an answer without choices as a bad upstream response', () => {
    expect(caught(() => fromGigaChatCompletion(ctx, { object: 'chat.completion' })).code).toBe(
      ErrorCode.UPSTREAM_BAD_RESPONSE,
    );
  });
});

describe('fromGigaChatStreamEvent', () => {
  const event = (delta: Record<string, unknown>, finish?: string, usage?: object): GigaChatStreamEvent => ({
    choices: [{ delta, index: 0, ...(finish ? { finish_reason: finish } : {}) }],
    created: 1768996176,
    model: 'GigaChat:2.0.28.2',
    object: 'chat.completion',
    ...(usage ? { usage } : {}),
  });

  it('should give role first, content deltas, skip empty content, then the finish and the usage chunks', () => {
    const state = newStreamState();
    const all = [
      event({ content: 'Привет', role: 'assistant' }),
      event({ content: '' }),
      event({ content: '! Чем помочь?' }),
      event({ content: '' }, 'stop', {
        prompt_tokens: 17,
        completion_tokens: 6,
        total_tokens: 23,
        precached_prompt_tokens: 2,
      }),
    ].flatMap((e) => fromGigaChatStreamEvent(ctx, e, state));
    expect(all.map((c) => [c.choices[0]?.delta, c.choices[0]?.finish_reason ?? null, c.usage ?? null])).toEqual([
      [{ role: 'assistant', content: 'Привет' }, null, null],
      [{ content: '! Чем помочь?' }, null, null],
      [{}, 'stop', null],
      [
        undefined,
        null,
        { prompt_tokens: 17, completion_tokens: 6, total_tokens: 23, prompt_tokens_details: { cached_tokens: 2 } },
      ],
    ]);
    expect(all.every((c) => c.id === 'chatcmpl-test' && c.model === 'giga-public' && c.created === 1768996176)).toBe(
      true,
    );
    expect(all[3].choices).toEqual([]);
    expect(state).toEqual({ started: true, finished: true });
  });

  it('should stream a function call as one complete tool_calls delta and finish with tool_calls', () => {
    const state = newStreamState();
    const chunks = fromGigaChatStreamEvent(
      ctx,
      event(
        { role: 'assistant', content: '', function_call: { name: 'get_weather', arguments: { city: 'Moscow' } } },
        'function_call',
        { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
      ),
      state,
    );
    expect(chunks).toHaveLength(3);
    expect(chunks[0].choices[0].delta).toEqual({
      role: 'assistant',
      tool_calls: [
        {
          index: 0,
          id: expect.stringMatching(CALL_ID),
          type: 'function',
          function: { name: 'get_weather', arguments: '{"city":"Moscow"}' },
        },
      ],
    });
    expect(chunks[1].choices[0]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chunks[2].usage).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
  });

  it.each([
    ['blacklist', 'content_filter'],
    ['length', 'length'],
    ['error', 'stop'],
  ])('should map a streamed finish %s to %s, with the role when it is the first chunk', (reason, expected) => {
    const state = newStreamState();
    const chunks = fromGigaChatStreamEvent(ctx, event({ content: '' }, reason), state);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].choices[0]).toMatchObject({ delta: { role: 'assistant' }, finish_reason: expected });
    expect(state.finished).toBe(true);
  });

  it('should skip builtin function progress events and events without choices', () => {
    const state = newStreamState();
    expect(fromGigaChatStreamEvent(ctx, event({ role: 'function_in_progress', content: 'x' }), state)).toEqual([]);
    expect(fromGigaChatStreamEvent(ctx, { object: 'chat.completion' }, state)).toEqual([]);
    expect(state).toEqual({ started: false, finished: false });
  });
});

describe('embeddings and models', () => {
  it.each([
    ['one string', 'a', ['a']],
    ['an array', ['a', 'b'], ['a', 'b']],
  ])('should send %s as an input array', (_t, input, expected) => {
    expect(toGigaChatEmbeddingRequest({ model: 'public', input }, 'Embeddings')).toEqual({
      model: 'Embeddings',
      input: expected,
    });
  });

  it('should sum the per-item usage and answer under the public model', () => {
    expect(
      fromGigaChatEmbeddings(ctx, {
        object: 'list',
        model: 'Embeddings',
        data: [
          { object: 'embedding', index: 0, embedding: [0.5, -1.2], usage: { prompt_tokens: 7 } },
          { object: 'embedding', index: 1, embedding: [0.9, 0.03], usage: { prompt_tokens: 5 } },
        ],
      }),
    ).toEqual({
      object: 'list',
      model: 'giga-public',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1.2] },
        { object: 'embedding', index: 1, embedding: [0.9, 0.03] },
      ],
      usage: { prompt_tokens: 12, total_tokens: 12 },
    });
  });

  it('should refuse embeddings without data', () => {
    expect(caught(() => fromGigaChatEmbeddings(ctx, {})).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
  });

  it('should list model ids', () => {
    expect(
      modelIdsOf({
        object: 'list',
        data: [{ id: 'GigaChat-2-Max', type: 'chat' }, { id: 'Embeddings', type: 'embedder' }, { object: 'model' }],
      }),
    ).toEqual(['GigaChat-2-Max', 'Embeddings']);
    expect(modelIdsOf({})).toEqual([]);
  });
});

describe('translated request fields', () => {
  const base: ChatCompletionRequest = { model: 'giga-public', messages: [{ role: 'user', content: 'hi' }] };

  it('should send json_schema flat, as GigaChat records it', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] };
    const body = toGigaChatRequest(
      { ...base, response_format: { type: 'json_schema', json_schema: { name: 'Out', schema, strict: true } } },
      'GigaChat-2-Max',
      false,
    );
    expect(body.response_format).toEqual({ type: 'json_schema', schema, strict: true });
    expect(toGigaChatResponseFormat({ type: 'json_schema', json_schema: { name: 'Out', schema } }, 'G')).toEqual({
      type: 'json_schema',
      schema,
    });
  });

  it.each([
    [{ type: 'json_object' }, 'response_format'],
    [{ type: 'grammar' }, 'response_format'],
    [{ type: 'json_schema' }, 'response_format.json_schema.schema'],
    [{ type: 'json_schema', json_schema: { name: 'x', schema: [] } }, 'response_format.json_schema.schema'],
  ])('should refuse response_format %j naming %s', (format, param) => {
    const error = caught(() => toGigaChatResponseFormat(format, 'GigaChat-2'));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe(param);
  });

  it('should name the model when json_object is refused', () => {
    expect(caught(() => toGigaChatResponseFormat({ type: 'json_object' }, 'GigaChat-2')).message).toContain(
      "'GigaChat-2'",
    );
  });

  it.each(['low', 'medium', 'high'])('should send reasoning_effort %s natively', (effort) => {
    expect(toGigaChatRequest({ ...base, reasoning_effort: effort }, 'G', false).reasoning_effort).toBe(effort);
  });

  it('should send no reasoning_effort for none', () => {
    expect(toGigaChatRequest({ ...base, reasoning_effort: 'none' }, 'G', false).reasoning_effort).toBeUndefined();
  });

  it.each(['minimal', 'max'])('should refuse reasoning_effort %s by name', (effort) => {
    const error = caught(() => toGigaChatRequest({ ...base, reasoning_effort: effort }, 'GigaChat-2', false));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe('reasoning_effort');
  });
});

describe('functions_state_id round trip through the tool call id', () => {
  const stateId = '0199e210-2f13-744c-8fe5-c9a19fe27db7';

  it('should encode a UUID state in a short call id and decode it back', () => {
    const id = toolCallIdFor(stateId);
    expect(id).toMatch(/^call_[0-9a-f]{4}_gsu[0-9a-f]{32}$/);
    expect(id!.length).toBeLessThanOrEqual(45);
    expect(functionsStateIdOf(id)).toBe(stateId);
  });

  it('should carry a state that is not a UUID too', () => {
    expect(functionsStateIdOf(toolCallIdFor('state/with:odd chars'))).toBe('state/with:odd chars');
  });

  it('should read no state from ordinary ids', () => {
    expect(functionsStateIdOf('call_abc')).toBeUndefined();
    expect(functionsStateIdOf(undefined)).toBeUndefined();
    expect(toolCallIdFor(undefined)).toBeUndefined();
  });

  it('should give the client a call id with the state and send it back on the next turn', () => {
    const completion = fromGigaChatCompletion(ctx, {
      choices: [
        {
          index: 0,
          finish_reason: 'function_call',
          message: {
            role: 'assistant',
            content: '',
            function_call: { name: 'get_weather', arguments: { city: 'Omsk' } },
            functions_state_id: stateId,
          },
        },
      ],
    });
    const calls = completion.choices[0].message.tool_calls!;
    const messages: ChatMessage[] = [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: calls },
      { role: 'tool', tool_call_id: calls[0].id, content: '{"t":5}' },
    ];
    expect(toGigaChatMessages(messages)[1]).toEqual({
      role: 'assistant',
      content: '',
      function_call: { name: 'get_weather', arguments: { city: 'Omsk' } },
      functions_state_id: stateId,
    });
  });

  it('should put the state of a streamed call into the streamed call id', () => {
    const state = newStreamState();
    const chunks = fromGigaChatStreamEvent(
      ctx,
      {
        choices: [
          {
            index: 0,
            finish_reason: 'function_call',
            delta: {
              role: 'assistant',
              content: '',
              function_call: { name: 'get_weather', arguments: { city: 'Omsk' } },
              functions_state_id: stateId,
            },
          },
        ],
      },
      state,
    );
    const id = chunks[0].choices[0].delta.tool_calls![0].id;
    expect(functionsStateIdOf(id)).toBe(stateId);
  });
});
