import { ChatCompletion, ChatCompletionChunk, ErrorCode, GatewayError } from '@xrouter/common';
import {
  asResponsesError,
  fromChatCompletion,
  type IdMaker,
  parseResponseRequest,
  ResponseEventBuilder,
  responseEvents,
  responseShell,
  toChatRequest,
} from './responses-mapping';
import type { ResponseCreateRequest, ResponseStreamEvent } from './responses.types';

function counter(): IdMaker {
  let n = 0;
  return (prefix) => `${prefix}_${++n}`;
}

function parse(body: Partial<ResponseCreateRequest>) {
  return parseResponseRequest({ model: 'GigaChat-2', input: 'hi', ...body }, counter());
}

function refusal(body: Partial<ResponseCreateRequest>): { code: string; param: string | null } {
  try {
    toChatRequest(parse(body));
  } catch (error) {
    if (error instanceof GatewayError) return { code: error.code, param: error.param };
    throw error;
  }
  throw new Error('expected a refusal');
}

const tool = { type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } };

describe('parseResponseRequest and toChatRequest', () => {
  it('should map a string input with instructions to a system and a user message', () => {
    expect(toChatRequest(parse({ instructions: 'Be brief', input: 'Привет' }))).toEqual({
      model: 'GigaChat-2',
      messages: [
        { role: 'system', content: 'Be brief' },
        { role: 'user', content: 'Привет' },
      ],
    });
  });

  it('should map text and image parts, and keep text-only parts as one string', () => {
    const chat = toChatRequest(
      parse({
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'a' },
              { type: 'input_text', text: 'b' },
            ],
          },
          {
            type: 'message',
            role: 'user',
            content: [
              { type: 'input_text', text: 'what is it?' },
              { type: 'input_image', image_url: 'data:image/png;base64,AAAA' },
            ],
          },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'ab' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is it?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'auto' } },
        ],
      },
    ]);
  });

  it('should join function calls to the assistant message before them and map outputs to tool messages', () => {
    const chat = toChatRequest(
      parse({
        input: [
          { role: 'user', content: 'Москва' },
          { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking' }] },
          { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Москва"}' },
          { type: 'function_call', call_id: 'call_2', name: 'get_weather', arguments: '{}' },
          { type: 'function_call_output', call_id: 'call_1', output: '{"t":-3}' },
          { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'ok' }] },
        ],
        tools: [tool],
      }),
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Москва' },
      {
        role: 'assistant',
        content: 'Checking',
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Москва"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"t":-3}' },
      { role: 'tool', tool_call_id: 'call_2', content: 'ok' },
    ]);
  });

  it('should map tools, tool_choice, text.format, limits, reasoning and user to their chat fields', () => {
    const chat = toChatRequest(
      parse({
        tools: [{ ...tool, description: 'Weather', strict: true }],
        tool_choice: { type: 'function', name: 'get_weather' },
        parallel_tool_calls: false,
        text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true } },
        max_output_tokens: 50,
        temperature: 0.2,
        top_p: 0.9,
        reasoning: { effort: 'low' },
        user: 'u-1',
        metadata: { trace: 'x' },
        store: false,
        include: [],
        background: false,
        truncation: 'disabled',
      }),
    );
    expect(chat).toEqual({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [
        {
          type: 'function',
          function: { name: 'get_weather', description: 'Weather', parameters: tool.parameters, strict: true },
        },
      ],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
      max_completion_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      reasoning_effort: 'low',
      user: 'u-1',
    });
    expect(toChatRequest(parse({ text: { format: { type: 'json_object' } } })).response_format).toEqual({
      type: 'json_object',
    });
  });

  it('should read null fields as absent', () => {
    expect(toChatRequest(parse({ instructions: null, tools: null, text: null, background: null }))).toEqual({
      model: 'GigaChat-2',
      messages: [{ role: 'user', content: 'hi' }],
    });
  });

  it.each<[string, Partial<ResponseCreateRequest>, string]>([
    ['an unknown field', { frobnicate: 1 }, 'frobnicate'],
    ['background mode', { background: true }, 'background'],
    ['include', { include: ['reasoning.encrypted_content'] }, 'include'],
    ['truncation auto', { truncation: 'auto' }, 'truncation'],
    ['a prompt template', { prompt: { id: 'p' } }, 'prompt'],
    ['a hosted tool', { tools: [{ type: 'web_search' }] }, 'tools[0].type'],
    ['a tool without a name', { tools: [{ type: 'function' }] }, 'tools[0].name'],
    [
      'a forced tool that is not offered',
      { tools: [tool], tool_choice: { type: 'function', name: 'x' } },
      'tool_choice.name',
    ],
    ['tool_choice required without tools', { tool_choice: 'required' }, 'tool_choice'],
    ['allowed_tools', { tools: [tool], tool_choice: { type: 'allowed_tools' } }, 'tool_choice'],
    ['a text format it does not know', { text: { format: { type: 'grammar' } } }, 'text.format.type'],
    ['a json_schema without a schema', { text: { format: { type: 'json_schema', name: 'x' } } }, 'text.format.schema'],
    ['text verbosity', { text: { verbosity: 'low' } }, 'text.verbosity'],
    ['reasoning summaries', { reasoning: { summary: 'auto' } }, 'reasoning.summary'],
    ['metadata with a number', { metadata: { n: 1 } }, 'metadata.n'],
    ['an item type it does not know', { input: [{ type: 'item_reference', id: 'x' }] }, 'input[0].type'],
    ['a bad role', { input: [{ role: 'tool', content: 'x' }] }, 'input[0].role'],
    [
      'a file part',
      { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] },
      'input[0].content[0].type',
    ],
    [
      'an image by file id',
      { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] },
      'input[0].content[0].file_id',
    ],
    [
      'a function call without arguments',
      { input: [{ type: 'function_call', call_id: 'c', name: 'n' }] },
      'input[0].arguments',
    ],
    [
      'a tool output of an object',
      { input: [{ type: 'function_call_output', call_id: 'c', output: {} }] },
      'input[0].output',
    ],
  ])('should refuse %s by name with a 400', (_what, body, param) => {
    expect(refusal(body)).toEqual({ code: ErrorCode.BAD_REQUEST, param });
  });

  it("should give every input item an id, keeping the client's own", () => {
    const { input } = parse({
      input: [
        { role: 'user', content: 'a', id: 'msg_mine' },
        { role: 'user', content: 'b' },
      ],
    });
    expect(input.map((i) => i.id)).toEqual(['msg_mine', 'msg_1']);
  });
});

const shell = () => responseShell(parse({ metadata: { a: 'b' } }).settings, 'resp_1', 1_700_000_000);

function completion(message: ChatCompletion['choices'][0]['message'], finish: 'stop' | 'length' | 'tool_calls') {
  return {
    id: 'c',
    object: 'chat.completion' as const,
    created: 1,
    model: 'GigaChat-2',
    choices: [{ index: 0, message, finish_reason: finish }],
    usage: { prompt_tokens: 3, completion_tokens: 9, total_tokens: 12 },
  };
}

describe('fromChatCompletion', () => {
  it('should answer text as a completed message with Responses usage', () => {
    const response = fromChatCompletion(shell(), completion({ role: 'assistant', content: 'Echo' }, 'stop'), counter());
    expect(response).toEqual(
      expect.objectContaining({
        id: 'resp_1',
        object: 'response',
        status: 'completed',
        incomplete_details: null,
        metadata: { a: 'b' },
        output: [
          {
            type: 'message',
            id: 'msg_1',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Echo', annotations: [], logprobs: [] }],
          },
        ],
        usage: {
          input_tokens: 3,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens: 9,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: 12,
        },
      }),
    );
  });

  it('should answer tool calls as function_call items', () => {
    const response = fromChatCompletion(
      shell(),
      completion(
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        'tool_calls',
      ),
      counter(),
    );
    expect(response.output).toEqual([
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_9',
        name: 'get_weather',
        arguments: '{}',
        status: 'completed',
      },
    ]);
  });

  it('should mark a cut answer incomplete with max_output_tokens', () => {
    const response = fromChatCompletion(shell(), completion({ role: 'assistant', content: 'Ec' }, 'length'), counter());
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.output[0].status).toBe('incomplete');
  });
});

function chunk(
  delta: ChatCompletionChunk['choices'][0]['delta'],
  finish: 'stop' | 'length' | 'tool_calls' | null = null,
) {
  return {
    id: 'c',
    object: 'chat.completion.chunk' as const,
    created: 1,
    model: 'm',
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
}

const usageChunk: ChatCompletionChunk = {
  id: 'c',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [],
  usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
};

async function collect(chunks: ChatCompletionChunk[], failWith?: Error) {
  async function* source() {
    await Promise.resolve();
    yield* chunks;
    if (failWith) throw failWith;
  }
  const builder = new ResponseEventBuilder(shell(), counter());
  const events: ResponseStreamEvent[] = [];
  for await (const event of responseEvents(builder, source())) events.push(event);
  return { events, final: builder.result };
}

describe('ResponseEventBuilder', () => {
  it('should stream text as the Responses event sequence, numbered, ending with response.completed', async () => {
    const { events, final } = await collect([
      chunk({ role: 'assistant', content: 'Ec' }),
      chunk({ content: 'ho' }, 'stop'),
      usageChunk,
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events[6]).toEqual(expect.objectContaining({ text: 'Echo', item_id: 'msg_1', output_index: 0 }));
    expect(final?.status).toBe('completed');
    expect(final?.output).toEqual([
      expect.objectContaining({
        type: 'message',
        status: 'completed',
        content: [expect.objectContaining({ text: 'Echo' })],
      }),
    ]);
    expect(final?.usage?.total_tokens).toBe(5);
    expect(events.at(-1)).toEqual(expect.objectContaining({ response: final }));
  });

  it('should stream a tool call as a function_call item with argument deltas', async () => {
    const { events, final } = await collect([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, 'tool_calls'),
    ]);
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[5]).toEqual(expect.objectContaining({ arguments: '{"a":1}', name: 'f' }));
    expect(final?.output).toEqual([
      { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' },
    ]);
  });

  it('should end a cut stream with response.incomplete', async () => {
    const { events } = await collect([chunk({ content: 'Ec' }, 'length')]);
    expect(events.at(-1)).toEqual(
      expect.objectContaining({
        type: 'response.incomplete',
        response: expect.objectContaining({ incomplete_details: { reason: 'max_output_tokens' } }),
      }),
    );
  });

  it('should end a stream that fails midway with response.failed, never a completion', async () => {
    const failure = new GatewayError(ErrorCode.STREAM_TRUNCATED, 'upstream stream ended early');
    const { events, final } = await collect([chunk({ content: 'Ec' })], failure);
    expect(events.map((e) => e.type).slice(-2)).toEqual(['response.output_text.delta', 'response.failed']);
    expect(final).toEqual(
      expect.objectContaining({
        status: 'failed',
        error: { code: 'stream_truncated', message: 'upstream stream ended early' },
      }),
    );
  });
});

describe('asResponsesError', () => {
  it.each([
    ['response_format', 'text.format'],
    ['response_format.json_schema.schema', 'text.format.schema'],
    ['max_tokens', 'max_output_tokens'],
    ['reasoning_effort', 'reasoning.effort'],
    ['messages[2].content[0]', 'input'],
    ['temperature', 'temperature'],
  ])('should name the chat field %s as the Responses field %s, in param and message', (chat, responses) => {
    const error = asResponsesError(
      new GatewayError(ErrorCode.BAD_REQUEST, `${chat} is not supported by model 'GigaChat-2'`, { param: chat }),
    ) as GatewayError;
    expect(error.param).toBe(responses);
    expect(error.message).toBe(`${responses} is not supported by model 'GigaChat-2'`);
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
  });

  it('should leave other errors as they are', () => {
    const upstream = new GatewayError(ErrorCode.UPSTREAM_UNREACHABLE, 'down');
    expect(asResponsesError(upstream)).toBe(upstream);
    const plain = new Error('x');
    expect(asResponsesError(plain)).toBe(plain);
  });
});
