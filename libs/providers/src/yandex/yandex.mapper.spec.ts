import {
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatMessage,
  ErrorCode,
  GatewayError,
  ToolChoice,
} from '@xrouter/common';
import type { AccountConfig, ProviderConfig } from '@xrouter/config';
import type { CallContext, DeploymentTarget } from '../llm-provider.interface';
import {
  CumulativeTextDecoder,
  YandexStreamTranslator,
  buildEmbeddingResponse,
  clampTemperature,
  completionModelUri,
  embeddingModelUri,
  finishReasonOf,
  fromYandexCompletion,
  fromYandexEmbedding,
  toYandexMessages,
  toYandexRequest,
  toYandexToolChoice,
  unwrapResult,
  usageFromYandex,
  staticAuthorization,
  yandexError,
  yandexHeaders,
} from './yandex.mapper';
import type { YandexEnvelope } from './yandex.types';

const provider: ProviderConfig = {
  id: 'yandex',
  type: 'yandex',
  base_url: 'http://127.0.0.1:1/yandex/foundationModels/v1',
  accounts: [],
};

function target(account: Partial<AccountConfig> = {}, upstreamModel = 'yandexgpt'): DeploymentTarget {
  return {
    key: `yandex/main/${upstreamModel}`,
    provider,
    account: { id: 'main', api_key: 'AQVNkey', folder_id: 'b1gfolder', ...account },
    upstreamModel,
  };
}

const ctx: CallContext = {
  target: target(),
  signal: new AbortController().signal,
  requestId: 'req-42',
  publicModel: 'yandex-pro',
  completionId: 'chatcmpl-y',
};

function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

const ask = (extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  model: 'yandex-pro',
  messages: [{ role: 'user', content: 'Hi' }],
  ...extra,
});

const weather = {
  type: 'function' as const,
  function: { name: 'weather', description: 'Weather', parameters: { type: 'object' } },
};

describe('yandexHeaders', () => {
  it.each([
    [{ api_key: 'AQVNkey', iam_token: undefined }, 'Api-Key AQVNkey'],
    [{ api_key: 'AQVNkey', iam_token: 't1.iam' }, 'Api-Key AQVNkey'],
    [{ api_key: undefined, iam_token: 't1.iam' }, 'Bearer t1.iam'],
    [{ api_key: '', iam_token: 't1.iam' }, 'Bearer t1.iam'],
  ])('should authorize %p with %s', (account, authorization) => {
    expect(staticAuthorization(target(account))).toBe(authorization);
  });

  it('should send the authorization, the folder, the request id and data logging off', () => {
    expect(yandexHeaders(target(), 'Bearer t1.live', 'req-42')).toEqual({
      'content-type': 'application/json',
      authorization: 'Bearer t1.live',
      'x-folder-id': 'b1gfolder',
      'x-client-request-id': 'req-42',
      'x-data-logging-enabled': 'false',
    });
  });

  it('should leave Yandex its data logging only for an account that opted in with data_logging: true', () => {
    expect(yandexHeaders(target({ data_logging: true }), 'Api-Key k')).not.toHaveProperty('x-data-logging-enabled');
    expect(yandexHeaders(target({ data_logging: false }), 'Api-Key k')['x-data-logging-enabled']).toBe('false');
  });

  it('should have no static authorization for an account without api_key and iam_token', () => {
    expect(staticAuthorization(target({ api_key: '', iam_token: '' }))).toBeUndefined();
  });
});

describe('model URIs', () => {
  it.each([
    ['yandexgpt', 'gpt://b1gfolder/yandexgpt'],
    ['yandexgpt/rc', 'gpt://b1gfolder/yandexgpt/rc'],
    ['yandexgpt/latest', 'gpt://b1gfolder/yandexgpt/latest'],
    ['gpt://b1gother/yandexgpt-lite/latest@ft1', 'gpt://b1gother/yandexgpt-lite/latest@ft1'],
  ])('should make the completion URI of %s %s', (model, uri) => {
    expect(completionModelUri(target({}, model))).toBe(uri);
  });

  it.each([
    ['text-search-doc', 'emb://b1gfolder/text-search-doc/latest'],
    ['text-search-doc/latest', 'emb://b1gfolder/text-search-doc/latest'],
    ['text-search-query/rc', 'emb://b1gfolder/text-search-query/rc'],
    ['emb://b1gother/text-search-query/rc', 'emb://b1gother/text-search-query/rc'],
  ])('should make the embedding URI of %s %s', (model, uri) => {
    expect(embeddingModelUri(target({}, model))).toBe(uri);
  });

  it('should refuse to guess a folder', () => {
    expect(failure(() => completionModelUri(target({ folder_id: undefined }))).code).toBe(ErrorCode.UPSTREAM_AUTH);
  });
});

describe('toYandexRequest', () => {
  it.each<[number, number]>([
    [0, 0],
    [0.3, 0.3],
    [1, 1],
    [1.5, 1],
    [2, 1],
    [-0.5, 0],
  ])('should clamp temperature %d to %d', (input, output) => {
    expect(clampTemperature(input)).toBe(output);
    expect(toYandexRequest(ask({ temperature: input }), target(), false).completionOptions.temperature).toBe(output);
  });

  it.each<[ToolChoice, unknown]>([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'REQUIRED' }],
    [{ type: 'function', function: { name: 'weather' } }, { functionName: 'weather' }],
  ])('should map tool_choice %p to %p', (choice, expected) => {
    expect(toYandexToolChoice(choice)).toEqual(expected);
    expect(toYandexRequest(ask({ tools: [weather], tool_choice: choice }), target(), false).toolChoice).toEqual(
      expected,
    );
  });

  it.each<[Partial<ChatCompletionRequest>, Record<string, unknown>]>([
    [{}, { completionOptions: { stream: false } }],
    [{ max_tokens: 100 }, { completionOptions: { stream: false, maxTokens: '100' } }],
    [{ max_completion_tokens: 50, max_tokens: 100 }, { completionOptions: { stream: false, maxTokens: '50' } }],
    [
      { reasoning_effort: 'low' },
      { completionOptions: { stream: false, reasoningOptions: { mode: 'ENABLED_HIDDEN' } } },
    ],
    [
      { reasoning_effort: 'high' },
      { completionOptions: { stream: false, reasoningOptions: { mode: 'ENABLED_HIDDEN' } } },
    ],
    [{ reasoning_effort: 'none' }, { completionOptions: { stream: false } }],
    [{ response_format: { type: 'json_object' } }, { completionOptions: { stream: false }, jsonObject: true }],
    [
      { response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } } },
      { completionOptions: { stream: false }, jsonSchema: { schema: { type: 'object' } } },
    ],
    [{ response_format: { type: 'text' } }, { completionOptions: { stream: false } }],
    [{ response_format: null }, { completionOptions: { stream: false } }],
    [
      { tools: [weather], tool_choice: null },
      {
        completionOptions: { stream: false },
        tools: [{ function: { name: 'weather', description: 'Weather', parameters: { type: 'object' } } }],
      },
    ],
    [
      { tools: [weather], parallel_tool_calls: false },
      {
        completionOptions: { stream: false },
        tools: [{ function: { name: 'weather', description: 'Weather', parameters: { type: 'object' } } }],
        parallelToolCalls: false,
      },
    ],
    [
      { top_p: 0.5, stop: ['x'], n: 2, seed: 1, presence_penalty: 1, frequency_penalty: 1, user: 'u', logprobs: true },
      { completionOptions: { stream: false } },
    ],
    [{ tool_choice: 'required', parallel_tool_calls: true }, { completionOptions: { stream: false } }],
  ])('should map %p', (extra, expected) => {
    expect(toYandexRequest(ask(extra), target(), false)).toEqual({
      modelUri: 'gpt://b1gfolder/yandexgpt',
      messages: [{ role: 'user', text: 'Hi' }],
      ...expected,
    });
  });

  it('should set stream in completionOptions', () => {
    expect(toYandexRequest(ask({ stream: true }), target(), true).completionOptions).toEqual({ stream: true });
  });

  it.each<[Partial<ChatCompletionRequest>, string]>([
    [{ response_format: { type: 'json_schema', json_schema: { name: 's' } } }, 'response_format.json_schema.schema'],
    [{ response_format: { type: 'xml' } }, 'response_format.type'],
  ])('should refuse %p with 400 at %s', (extra, param) => {
    const error = failure(() => toYandexRequest(ask(extra), target(), false));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe(param);
  });
});

describe('toYandexMessages', () => {
  const call = (id: string, name: string, args: string) => ({
    id,
    type: 'function' as const,
    function: { name, arguments: args },
  });

  it.each<[string, ChatMessage[], unknown[]]>([
    [
      'system, developer and text parts',
      [
        { role: 'system', content: 'Be brief' },
        { role: 'developer', content: 'Answer in Russian' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'assistant', content: 'ok' },
      ],
      [
        { role: 'system', text: 'Be brief' },
        { role: 'system', text: 'Answer in Russian' },
        { role: 'user', text: 'a\nb' },
        { role: 'assistant', text: 'ok' },
      ],
    ],
    [
      'tool calls and consecutive tool results in one user message',
      [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [call('call_1', 'weather', '{"city":"Moscow"}'), call('call_2', 'time', '')],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '8°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '12:00' }] },
        { role: 'user', content: 'Thanks' },
      ],
      [
        { role: 'user', text: 'Weather?' },
        {
          role: 'assistant',
          toolCallList: {
            toolCalls: [
              { functionCall: { name: 'weather', arguments: { city: 'Moscow' } } },
              { functionCall: { name: 'time', arguments: {} } },
            ],
          },
        },
        {
          role: 'user',
          toolResultList: {
            toolResults: [
              { functionResult: { name: 'weather', content: '8°C' } },
              { functionResult: { name: 'time', content: '12:00' } },
            ],
          },
        },
        { role: 'user', text: 'Thanks' },
      ],
    ],
    [
      'tool results split by another message stay apart; assistant text beside calls is kept first',
      [
        { role: 'assistant', content: 'Let me check', tool_calls: [call('call_1', 'weather', '{}')] },
        { role: 'tool', tool_call_id: 'call_1', content: 'a' },
        { role: 'assistant', content: null, tool_calls: [call('call_2', 'weather', '{}')] },
        { role: 'tool', tool_call_id: 'call_2', content: 'b' },
      ],
      [
        { role: 'assistant', text: 'Let me check' },
        { role: 'assistant', toolCallList: { toolCalls: [{ functionCall: { name: 'weather', arguments: {} } }] } },
        { role: 'user', toolResultList: { toolResults: [{ functionResult: { name: 'weather', content: 'a' } }] } },
        { role: 'assistant', toolCallList: { toolCalls: [{ functionCall: { name: 'weather', arguments: {} } }] } },
        { role: 'user', toolResultList: { toolResults: [{ functionResult: { name: 'weather', content: 'b' } }] } },
      ],
    ],
  ])('should map %s', (_title, messages, expected) => {
    expect(toYandexMessages(messages)).toEqual(expected);
  });

  it.each<[string, ChatMessage[], string]>([
    ['an unknown tool_call_id', [{ role: 'tool', tool_call_id: 'call_x', content: 'r' }], 'messages[0].tool_call_id'],
    [
      'arguments that are not a JSON object',
      [{ role: 'assistant', content: null, tool_calls: [call('c', 'f', '[1]')] }],
      'messages[0].tool_calls[0].function.arguments',
    ],
    [
      'an image part',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
      'messages[0].content[0]',
    ],
  ])('should refuse %s with 400', (_title, messages, param) => {
    const error = failure(() => toYandexMessages(messages));
    expect(error.code).toBe(ErrorCode.BAD_REQUEST);
    expect(error.param).toBe(param);
  });
});

describe('fromYandexCompletion', () => {
  const usage = { inputTextTokens: '108', completionTokens: '10', totalTokens: '118' };

  it.each([
    ['ALTERNATIVE_STATUS_FINAL', 'stop'],
    ['ALTERNATIVE_STATUS_TRUNCATED_FINAL', 'length'],
    ['ALTERNATIVE_STATUS_TOOL_CALLS', 'tool_calls'],
    ['ALTERNATIVE_STATUS_CONTENT_FILTER', 'content_filter'],
    ['ALTERNATIVE_STATUS_UNSPECIFIED', 'stop'],
    [undefined, 'stop'],
    ['ALTERNATIVE_STATUS_PARTIAL', null],
  ])('should map status %s to finish %s', (status, finish) => {
    expect(finishReasonOf(status)).toBe(finish);
  });

  it('should unwrap result and map text, status and string usage', () => {
    const answer = fromYandexCompletion(
      {
        result: {
          alternatives: [{ message: { role: 'assistant', text: '+8°C' }, status: 'ALTERNATIVE_STATUS_FINAL' }],
          usage: { ...usage, completionTokensDetails: { reasoningTokens: '3' } },
          modelVersion: '23.10.2024',
        },
      },
      ctx,
    );
    expect(answer).toEqual({
      id: 'chatcmpl-y',
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'yandex-pro',
      choices: [{ index: 0, message: { role: 'assistant', content: '+8°C' }, finish_reason: 'stop', logprobs: null }],
      usage: {
        prompt_tokens: 108,
        completion_tokens: 10,
        total_tokens: 118,
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    });
  });

  it('should accept a bare (unwrapped) answer and a truncated one', () => {
    const answer = fromYandexCompletion(
      { alternatives: [{ message: { text: 'cut' }, status: 'ALTERNATIVE_STATUS_TRUNCATED_FINAL' }], usage },
      ctx,
    );
    expect(answer.choices[0]).toMatchObject({ message: { content: 'cut' }, finish_reason: 'length' });
  });

  it('should turn a toolCallList into tool_calls with ids, string arguments and null content', () => {
    const answer = fromYandexCompletion(
      {
        result: {
          alternatives: [
            {
              message: {
                role: 'assistant',
                toolCallList: {
                  toolCalls: [
                    { functionCall: { name: 'weather', arguments: { city: 'Санкт-Петербург' } } },
                    { functionCall: { name: 'time' } },
                  ],
                },
              },
              status: 'ALTERNATIVE_STATUS_TOOL_CALLS',
            },
          ],
          usage,
        },
      },
      ctx,
    );
    const message = answer.choices[0].message;
    expect(answer.choices[0].finish_reason).toBe('tool_calls');
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_[\w-]{24}$/),
        type: 'function',
        function: { name: 'weather', arguments: '{"city":"Санкт-Петербург"}' },
      },
      { id: expect.stringMatching(/^call_[\w-]{24}$/), type: 'function', function: { name: 'time', arguments: '{}' } },
    ]);
    expect(message.tool_calls?.[0].id).not.toBe(message.tool_calls?.[1].id);
  });

  it.each<[string, YandexEnvelope, ErrorCode]>([
    ['no alternatives', { result: { alternatives: [] } }, ErrorCode.UPSTREAM_BAD_RESPONSE],
    [
      'a tool call without a name',
      { result: { alternatives: [{ message: { toolCallList: { toolCalls: [{} as never] } } }] } },
      ErrorCode.UPSTREAM_BAD_RESPONSE,
    ],
    ['an error body', { error: { grpcCode: 8, httpCode: 429, message: 'quota' } }, ErrorCode.RATE_LIMITED],
  ])('should refuse %s', (_title, body, code) => {
    expect(failure(() => fromYandexCompletion(body, ctx)).code).toBe(code);
  });
});

describe('usageFromYandex', () => {
  it.each([
    [
      {},
      { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
    [
      { inputTextTokens: '5', completionTokens: 7 },
      { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12, completion_tokens_details: { reasoning_tokens: 0 } },
    ],
    [
      {
        inputTextTokens: 'x',
        completionTokens: '2',
        totalTokens: '9',
        completionTokensDetails: { reasoningTokens: '1' },
      },
      { prompt_tokens: 0, completion_tokens: 2, total_tokens: 9, completion_tokens_details: { reasoning_tokens: 1 } },
    ],
  ])('should map %p', (usage, expected) => {
    expect(usageFromYandex(usage)).toEqual(expected);
  });
});

describe('yandexError', () => {
  it.each([
    [{ grpcCode: 3, httpCode: 400, message: 'folder' }, ErrorCode.BAD_REQUEST, 400],
    [{ grpcCode: 16, httpCode: 401, message: 'bad key' }, ErrorCode.UPSTREAM_AUTH, 401],
    [{ grpcCode: 5, httpCode: 404, message: 'no model' }, ErrorCode.MODEL_NOT_FOUND, 404],
    [{ grpcCode: 8, httpCode: 429, message: 'quota' }, ErrorCode.RATE_LIMITED, 429],
    [{ grpcCode: 13, httpCode: 500, message: 'internal' }, ErrorCode.UPSTREAM_5XX, 500],
    [{ grpcCode: 14, message: 'unavailable' }, ErrorCode.UPSTREAM_5XX, 503],
    [{ grpcCode: 8, message: 'quota' }, ErrorCode.RATE_LIMITED, 429],
    [{ grpcCode: 3 }, ErrorCode.BAD_REQUEST, 400],
    [{ message: 'weird' }, ErrorCode.UPSTREAM_5XX, 500],
  ])('should map %p to %s', (error, code, status) => {
    const mapped = yandexError('yandex', error);
    expect(mapped.code).toBe(code);
    expect(mapped.upstreamStatus).toBe(status);
  });

  it('should keep the upstream message except for auth failures', () => {
    expect(yandexError('yandex', { grpcCode: 8, httpCode: 429, message: 'allowed 10 requests' }).message).toBe(
      'yandex: allowed 10 requests',
    );
    expect(yandexError('yandex', { grpcCode: 16, httpCode: 401, message: 'key AQVN123' }).message).not.toContain(
      'AQVN123',
    );
  });

  it('should throw the error body of an envelope and unwrap a result', () => {
    expect(failure(() => unwrapResult({ error: { grpcCode: 5, httpCode: 404 } }, 'yandex')).code).toBe(
      ErrorCode.MODEL_NOT_FOUND,
    );
    expect(unwrapResult({ result: { modelVersion: 'v' } }, 'yandex')).toEqual({ modelVersion: 'v' });
    expect(unwrapResult({ modelVersion: 'v' }, 'yandex')).toEqual({ modelVersion: 'v' });
  });
});

describe('CumulativeTextDecoder', () => {
  type Step = [text: string | undefined, replacement: boolean, delta: string];
  it.each<[string, Step[], { text: string; rewritten: boolean }]>([
    [
      'prefix extension',
      [
        ['При', false, 'При'],
        ['Привет! Чем', false, 'вет! Чем'],
        ['Привет! Чем могу помочь?', false, ' могу помочь?'],
        ['Привет! Чем могу помочь?', false, ''],
      ],
      { text: 'Привет! Чем могу помочь?', rewritten: false },
    ],
    [
      'content-filter rewrite (even one that happens to extend the prefix)',
      [
        ['Hello', false, 'Hello'],
        ['Hello world', true, ''],
        ['Hello world!', false, ''],
      ],
      { text: 'Hello', rewritten: true },
    ],
    [
      'non-prefix rewrite',
      [
        ['Hello wor', false, 'Hello wor'],
        ['Hi there', false, ''],
        ['Hi there, friend', false, ''],
      ],
      { text: 'Hello wor', rewritten: true },
    ],
    [
      'empty and missing texts',
      [
        ['', false, ''],
        [undefined, false, ''],
        ['ab', false, 'ab'],
        ['', false, ''],
        [undefined, false, ''],
        ['abc', false, 'c'],
      ],
      { text: 'abc', rewritten: false },
    ],
  ])('should decode %s', (_title, steps, end) => {
    const decoder = new CumulativeTextDecoder();
    expect(steps.map(([text, replacement]) => decoder.push(text, replacement))).toEqual(steps.map((s) => s[2]));
    expect({ text: decoder.text, rewritten: decoder.rewritten }).toEqual(end);
  });
});

describe('YandexStreamTranslator', () => {
  const line = (
    text: string | undefined,
    status: string,
    extra: Record<string, unknown> = {},
    usage: Record<string, string> | null = { inputTextTokens: '4', completionTokens: '2', totalTokens: '6' },
  ): YandexEnvelope => ({
    result: {
      alternatives: [{ message: { role: 'assistant', ...(text === undefined ? {} : { text }), ...extra }, status }],
      ...(usage ? { usage } : {}),
    },
  });

  /** Each chunk as a short string: `role+content`, `tools:n`, `finish:x`, `usage:n`. */
  function describeChunks(chunks: ChatCompletionChunk[]): string[] {
    return chunks.map((chunk) => {
      if (chunk.choices.length === 0) return `usage:${chunk.usage?.total_tokens}`;
      const { delta, finish_reason } = chunk.choices[0];
      const parts: string[] = [];
      if (delta.role) parts.push('role');
      if (delta.content !== undefined) parts.push(`"${delta.content}"`);
      if (delta.tool_calls)
        parts.push(`tools:${delta.tool_calls.map((c) => `${c.index}${c.function?.name}`).join(',')}`);
      if (finish_reason) parts.push(`finish:${finish_reason}`);
      return parts.join(' ');
    });
  }

  function run(lines: YandexEnvelope[]): string[] {
    const translator = new YandexStreamTranslator(ctx);
    const out = lines.flatMap((l) => describeChunks(translator.accept(l)));
    translator.end();
    return out;
  }

  it.each<[string, YandexEnvelope[], string[]]>([
    [
      'cumulative text to deltas, finish and usage',
      [
        line('При', 'ALTERNATIVE_STATUS_PARTIAL'),
        line('Привет', 'ALTERNATIVE_STATUS_PARTIAL'),
        line('Привет', 'ALTERNATIVE_STATUS_PARTIAL'),
        line(
          'Привет!',
          'ALTERNATIVE_STATUS_FINAL',
          {},
          { inputTextTokens: '4', completionTokens: '3', totalTokens: '7' },
        ),
      ],
      ['role "При"', '"вет"', '"!"', 'finish:stop', 'usage:7'],
    ],
    [
      'a truncated final answer',
      [line('a', 'ALTERNATIVE_STATUS_PARTIAL'), line('a b', 'ALTERNATIVE_STATUS_TRUNCATED_FINAL')],
      ['role "a"', '" b"', 'finish:length', 'usage:6'],
    ],
    [
      'a content filter: the replacement text is not emitted',
      [line('Hello', 'ALTERNATIVE_STATUS_PARTIAL'), line('Sorry, I cannot', 'ALTERNATIVE_STATUS_CONTENT_FILTER')],
      ['role "Hello"', 'finish:content_filter', 'usage:6'],
    ],
    [
      'a non-filter rewrite: nothing more emitted, finish stop',
      [
        line('Hello wor', 'ALTERNATIVE_STATUS_PARTIAL'),
        line('Hi', 'ALTERNATIVE_STATUS_PARTIAL'),
        line('Hi there', 'ALTERNATIVE_STATUS_TRUNCATED_FINAL'),
      ],
      ['role "Hello wor"', 'finish:stop', 'usage:6'],
    ],
    [
      'tool calls on the final line',
      [
        line(undefined, 'ALTERNATIVE_STATUS_TOOL_CALLS', {
          toolCallList: {
            toolCalls: [
              { functionCall: { name: 'weather', arguments: { city: 'Moscow' } } },
              { functionCall: { name: 'time', arguments: {} } },
            ],
          },
        }),
      ],
      ['role tools:0weather,1time', 'finish:tool_calls', 'usage:6'],
    ],
    [
      'a filtered first line: the role rides on the finish chunk; no usage when none was sent',
      [line('Nope', 'ALTERNATIVE_STATUS_CONTENT_FILTER', {}, null)],
      ['role finish:content_filter'],
    ],
    [
      'usage from the last line that had it; lines after the end ignored',
      [
        line('a', 'ALTERNATIVE_STATUS_PARTIAL', {}, { totalTokens: '3' }),
        line('ab', 'ALTERNATIVE_STATUS_FINAL', {}, null),
        line('abc', 'ALTERNATIVE_STATUS_FINAL'),
      ],
      ['role "a"', '"b"', 'finish:stop', 'usage:3'],
    ],
  ])('should translate %s', (_title, lines, expected) => {
    expect(run(lines)).toEqual(expected);
  });

  it('should give tool calls ids and string arguments', () => {
    const translator = new YandexStreamTranslator(ctx);
    const [chunk] = translator.accept(
      line(undefined, 'ALTERNATIVE_STATUS_TOOL_CALLS', {
        toolCallList: { toolCalls: [{ functionCall: { name: 'weather', arguments: { city: 'Moscow' } } }] },
      }),
    );
    expect(chunk).toMatchObject({ id: 'chatcmpl-y', object: 'chat.completion.chunk', model: 'yandex-pro' });
    expect(chunk.choices[0].delta.tool_calls).toEqual([
      {
        index: 0,
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'weather', arguments: '{"city":"Moscow"}' },
      },
    ]);
  });

  it.each<[string, YandexEnvelope[]]>([
    ['no line at all', []],
    [
      'a last status still PARTIAL',
      [line('a', 'ALTERNATIVE_STATUS_PARTIAL'), line('ab', 'ALTERNATIVE_STATUS_PARTIAL')],
    ],
  ])('should call a stream with %s truncated, never a stop', (_title, lines) => {
    const translator = new YandexStreamTranslator(ctx);
    const finishes = lines.flatMap((l) => translator.accept(l)).filter((c) => c.choices[0]?.finish_reason);
    expect(finishes).toEqual([]);
    expect(failure(() => translator.end()).code).toBe(ErrorCode.STREAM_TRUNCATED);
  });

  it.each<[YandexEnvelope, ErrorCode]>([
    [{ error: { grpcCode: 8, httpCode: 429, message: 'quota' } }, ErrorCode.RATE_LIMITED],
    [{ error: { grpcCode: 13, message: 'internal' } }, ErrorCode.UPSTREAM_5XX],
    [{ result: { usage: {} } }, ErrorCode.UPSTREAM_BAD_RESPONSE],
  ])('should end on %p with %s', (bad, code) => {
    const translator = new YandexStreamTranslator(ctx);
    expect(translator.accept(line('a', 'ALTERNATIVE_STATUS_PARTIAL'))).toHaveLength(1);
    expect(failure(() => translator.accept(bad)).code).toBe(code);
  });
});

describe('embeddings', () => {
  it('should read vectors and token strings, and sum usage in input order', () => {
    const first = fromYandexEmbedding({ embedding: [0.5, '-0.25'], numTokens: '3' }, 'yandex');
    const second = fromYandexEmbedding({ embedding: [1, 0], numTokens: '4' }, 'yandex');
    expect(first).toEqual({ embedding: [0.5, -0.25], tokens: 3 });
    expect(buildEmbeddingResponse(ctx, [first, second])).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -0.25] },
        { object: 'embedding', index: 1, embedding: [1, 0] },
      ],
      model: 'yandex-pro',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
  });

  it.each([[{}], [{ embedding: [] }], [{ embedding: ['x'] }]])('should refuse %p', (body) => {
    expect(failure(() => fromYandexEmbedding(body, 'yandex')).code).toBe(ErrorCode.UPSTREAM_BAD_RESPONSE);
  });
});
