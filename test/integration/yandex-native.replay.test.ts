import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ChatCompletionRequest, ChatMessage, ToolDefinition } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { YandexProvider } from '../../libs/providers/src/yandex/yandex.provider';
import { collect } from '../support/outcomes';

/**
 * Replays the Yandex native recordings (test/fixtures/recordings/yandex-native, from the SDK's gRPC cassettes; the
 * REST API carries the same messages as JSON, completions wrapped in `result`): for each interaction class the
 * OpenAI request a client would send goes through the adapter to a server that records what arrives and answers
 * with the recorded message. The body must be the recorded request message (field names, int64 as strings, nesting),
 * and the recorded answer must come out as the right OpenAI answer.
 */

const FIXTURES = join(__dirname, '../fixtures/recordings/yandex-native');
const FOLDER = 'b1ghsjum2v37c2un8h64';

type Json = Record<string, unknown>;
interface Fixture {
  request: Json;
  response?: Json;
  stream?: Json[];
}
const fixture = (name: string): Fixture => JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Json;
}

/** The body as the recording would show it: proto3 JSON leaves a plain bool at its default out (`stream: false`). */
function asRecorded(body: Json): Json {
  const options = { ...(body.completionOptions as Json) };
  if (options.stream === false) delete options.stream;
  return body.completionOptions ? { ...body, completionOptions: options } : body;
}

const numbersTool = (name: string, what: string): ToolDefinition => ({
  type: 'function',
  function: {
    name,
    description: `Tool which have to collect all the numbers from user message and do a ${what} with it`,
    parameters: {
      title: 'Numbers',
      type: 'object',
      properties: { numbers: { title: 'Numbers', type: 'array', items: { type: 'integer' } } },
      required: ['numbers'],
    },
  },
});
const something = numbersTool('something', 'SOMETHING');
const spooning = numbersTool('spooning', 'SPOONING');
const somethingElse = numbersTool('something_else', 'SOMETHING');
const NUMBERS = 'do a SOMETHING with all the numbers from: 5, 4, a, 1';
const BOTH = 'do a SOMETHING and SPOONING with all the numbers from: 5, 4, a, 1';
const ARGS = '{"numbers":[5,4,1]}';
const call = (id: string, name: string) => ({ id, type: 'function' as const, function: { name, arguments: ARGS } });

const CHAT: ChatMessage[] = [
  { role: 'system', content: 'Your name is Arkadiy' },
  { role: 'user', content: 'Hello! how is your name?' },
];

/** Each interaction class: the fixture, the model the deployment names and the OpenAI request a client sends. */
const CASES: Array<[name: string, model: string, request: Omit<ChatCompletionRequest, 'model'>]> = [
  ['chat', 'yandexgpt/latest', { messages: CHAT }],
  [
    'chat_history',
    'yandexgpt/latest',
    {
      messages: [
        ...CHAT,
        { role: 'assistant', content: "Hello! My name is Arkadiy and I'm glad to meet you. How are you?" },
        { role: 'user', content: 'My name is Andrew' },
        { role: 'assistant', content: "Hello, Andrew! It's a pleasure to meet you. How are you?" },
        { role: 'user', content: 'What is my name?' },
      ],
    },
  ],
  ['function_call', 'yandexgpt/rc', { messages: [{ role: 'user', content: NUMBERS }], tools: [something] }],
  [
    'function_result',
    'yandexgpt/rc',
    {
      messages: [
        { role: 'user', content: NUMBERS },
        { role: 'assistant', content: null, tool_calls: [call('call_1', 'something')] },
        { role: 'tool', tool_call_id: 'call_1', content: '+20.0' },
      ],
      tools: [something],
    },
  ],
  [
    'parallel_function_call',
    'yandexgpt/rc',
    { messages: [{ role: 'user', content: BOTH }], tools: [something, spooning], parallel_tool_calls: true },
  ],
  [
    'parallel_function_call_off',
    'yandexgpt/rc',
    { messages: [{ role: 'user', content: BOTH }], tools: [something, spooning], parallel_tool_calls: false },
  ],
  [
    'parallel_function_results',
    'yandexgpt/rc',
    {
      messages: [
        { role: 'user', content: BOTH },
        { role: 'assistant', content: null, tool_calls: [call('call_1', 'something')] },
        { role: 'tool', tool_call_id: 'call_1', content: '+20' },
        { role: 'assistant', content: null, tool_calls: [call('call_2', 'spooning')] },
        { role: 'tool', tool_call_id: 'call_2', content: '-10' },
      ],
      tools: [something, spooning],
      parallel_tool_calls: false,
    },
  ],
  ...(
    [
      ['tool_choice_required', 'required'],
      ['tool_choice_auto', 'auto'],
      ['tool_choice_function', { type: 'function', function: { name: 'something_else' } }],
      ['tool_choice_none', 'none'],
    ] as const
  ).map(([name, choice]): [string, string, Omit<ChatCompletionRequest, 'model'>] => [
    name,
    'yandexgpt/rc',
    {
      messages: [{ role: 'user', content: BOTH }],
      tools: [something, somethingElse],
      parallel_tool_calls: false,
      tool_choice: choice,
    },
  ]),
  [
    'structured_output_json_schema',
    'yandexgpt/rc',
    {
      messages: [{ role: 'user', content: 'collect all numbers from: 5, 4, a, 1' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'Numbers',
          schema: {
            title: 'Numbers',
            type: 'object',
            properties: { numbers: { title: 'Numbers', type: 'array', items: { type: 'integer' } } },
            required: ['numbers'],
          },
        },
      },
    },
  ],
  [
    'structured_output_simple_json',
    'yandexgpt/rc',
    {
      messages: [{ role: 'user', content: 'collect all numbers from: 5, 4, a, 1' }],
      response_format: { type: 'json_object' },
    },
  ],
];

describe('Yandex native adapter replaying the recorded exchanges', () => {
  let server: Server;
  let base: string;
  let received: Received[] = [];
  /** What the next request is answered with: a JSON body, or NDJSON lines. */
  let answer: { json: unknown } | { lines: unknown[] } = { json: {} };
  const http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
  const store = new MemoryStore();
  const provider = new YandexProvider(http, store);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json,
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        if ('json' in answer) res.end(JSON.stringify(answer.json));
        else res.end(answer.lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/foundationModels/v1`;
  });
  beforeEach(() => (received = []));
  afterAll(async () => {
    await http.onApplicationShutdown();
    await store.close();
    await new Promise((resolve) => server.close(resolve));
  });

  function target(model: string): DeploymentTarget {
    const config = parseRoutingConfig(
      `providers:
  - id: yandex
    type: yandex
    base_url: ${base}
    accounts: [{ id: main, api_key: AQVN-replay, folder_id: ${FOLDER} }]
    free: true
models:
  - name: yandex-pro
    deployments: [{ provider: yandex, model: yandexgpt }]
`,
      'test.yaml',
      {},
    );
    const yandex = config.providers[0];
    return { key: `yandex/main/${model}`, provider: yandex, account: yandex.accounts[0], upstreamModel: model };
  }
  const ctx = (model: string): CallContext => ({
    target: target(model),
    signal: new AbortController().signal,
    requestId: 'req-replay',
    publicModel: 'yandex-pro',
    completionId: 'chatcmpl-replay',
  });

  const only = (): Received => {
    expect(received).toHaveLength(1);
    return received[0];
  };

  describe.each(CASES)('%s', (name, model, request) => {
    const recorded = fixture(name);

    it('should send the recorded request message to POST /completion with the headers that matter', async () => {
      answer = { json: { result: recorded.response } };
      await provider.chat({ model: 'yandex-pro', ...request } as ChatCompletionRequest, ctx(model));
      const sent = only();
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe('/foundationModels/v1/completion');
      expect(asRecorded(sent.body)).toEqual(recorded.request);
      expect(sent.headers).toMatchObject({
        authorization: 'Api-Key AQVN-replay',
        'x-folder-id': FOLDER,
        'x-data-logging-enabled': 'false',
        'content-type': 'application/json',
      });
    });

    it('should map the recorded answer to the OpenAI answer', async () => {
      answer = { json: { result: recorded.response } };
      const completion = await provider.chat({ model: 'yandex-pro', ...request } as ChatCompletionRequest, ctx(model));
      const alternative = (recorded.response!.alternatives as Json[])[0];
      const message = alternative.message as Json;
      const usage = recorded.response!.usage as Record<string, string>;
      expect(completion.usage).toEqual({
        prompt_tokens: Number(usage.inputTextTokens),
        completion_tokens: Number(usage.completionTokens),
        total_tokens: Number(usage.totalTokens),
        completion_tokens_details: { reasoning_tokens: 0 },
      });
      const choice = completion.choices[0];
      if (message.toolCallList) {
        const calls = (message.toolCallList as { toolCalls: Array<{ functionCall: { name: string } }> }).toolCalls;
        expect(choice.finish_reason).toBe('tool_calls');
        expect(choice.message.content).toBeNull();
        expect(choice.message.tool_calls).toEqual(
          calls.map((c) => ({
            id: expect.stringMatching(/^call_/) as unknown,
            type: 'function',
            function: { name: c.functionCall.name, arguments: ARGS },
          })),
        );
      } else {
        expect(choice.finish_reason).toBe('stop');
        expect(choice.message).toEqual({ role: 'assistant', content: message.text });
      }
    });
  });

  it('should read the structured outputs as the JSON the client asked for', async () => {
    for (const name of ['structured_output_json_schema', 'structured_output_simple_json']) {
      answer = { json: { result: fixture(name).response } };
      const completion = await provider.chat(
        { model: 'yandex-pro', messages: [{ role: 'user', content: 'x' }] },
        ctx('yandexgpt/rc'),
      );
      expect(() => JSON.parse(completion.choices[0].message.content ?? '') as unknown).not.toThrow();
    }
  });

  describe('run_stream', () => {
    const recorded = fixture('run_stream');
    const request: ChatCompletionRequest = {
      model: 'yandex-pro',
      messages: [{ role: 'user', content: 'hello! could you please tell me about platypuses?' }],
      stream: true,
    };

    it('should send the recorded streaming request message', async () => {
      answer = { lines: recorded.stream!.map((message) => ({ result: message })) };
      await collect(await provider.chatStream(request, ctx('yandexgpt/latest')));
      expect(only().body).toEqual(recorded.request);
    });

    it('should turn the cumulative texts into deltas, finish stop and report the last usage', async () => {
      answer = { lines: recorded.stream!.map((message) => ({ result: message })) };
      const chunks = await collect(await provider.chatStream(request, ctx('yandexgpt/latest')));
      const texts = recorded.stream!.map(
        (message) => ((message.alternatives as Json[])[0].message as { text: string }).text,
      );
      const deltas = chunks.map((c) => c.choices[0]?.delta.content).filter((d) => d !== undefined);
      // The fixture keeps some of the recorded messages: each delta is what one message added to the text.
      expect(deltas).toEqual(texts.map((text, i) => text.slice(i === 0 ? 0 : texts[i - 1].length)));
      expect(deltas.join('')).toBe(texts.at(-1));
      expect(chunks[0].choices[0].delta.role).toBe('assistant');
      expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop']);
      const last = recorded.stream!.at(-1)!.usage as Record<string, string>;
      expect(chunks.at(-1)?.usage).toEqual({
        prompt_tokens: Number(last.inputTextTokens),
        completion_tokens: Number(last.completionTokens),
        total_tokens: Number(last.totalTokens),
        completion_tokens_details: { reasoning_tokens: 0 },
      });
    });
  });

  describe('text_embedding', () => {
    const recorded = fixture('text_embedding');

    it('should send the recorded TextEmbeddingRequest for a model configured with its branch', async () => {
      answer = { json: recorded.response };
      const result = await provider.embeddings({ model: 'emb', input: 'hello' }, ctx('text-search-doc/latest'));
      const sent = only();
      expect(sent.url).toBe('/foundationModels/v1/textEmbedding');
      expect(sent.body).toEqual(recorded.request);
      expect(sent.headers['x-data-logging-enabled']).toBe('false');
      expect(result.data).toEqual([{ object: 'embedding', index: 0, embedding: recorded.response!.embedding }]);
      expect(result.data[0].embedding).toHaveLength(256);
      expect(result.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    });

    it('should send the same URI for the model named without its branch', async () => {
      answer = { json: recorded.response };
      await provider.embeddings({ model: 'emb', input: 'hello' }, ctx('text-search-doc'));
      expect(only().body).toEqual(recorded.request);
    });
  });

  it('should read the recorded tokenize answer (special omitted when false) as a healthy probe', async () => {
    answer = { json: fixture('tokenize').response };
    expect(await provider.listModels(target('yandexgpt'), new AbortController().signal)).toContain('yandexgpt');
    expect(only().url).toBe('/foundationModels/v1/tokenize');
  });
});
