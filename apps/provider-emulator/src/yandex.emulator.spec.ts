import { DEFAULT_YANDEX_API_KEY, DEFAULT_YANDEX_FOLDER_ID } from './emulator-defaults';
import { ANSWER_PADDING, embeddingVector } from './deterministic-answer';
import type { RunningEmulator } from './emulator-test-kit';
import { parseNdjson, postJson, readJson, startEmulator } from './emulator-test-kit';
import { YANDEX_EMBEDDING_DIMENSIONS, YANDEX_FILTER_TEXT, YANDEX_QUOTA_MESSAGE } from './yandex.emulator';

const HELLO_ANSWER = `Echo: Hello there ${ANSWER_PADDING}`;
const API_KEY_AUTH = { authorization: `Api-Key ${DEFAULT_YANDEX_API_KEY}` };
const MODEL_URI = `gpt://${DEFAULT_YANDEX_FOLDER_ID}/yandexgpt/latest`;

const weatherTool = {
  function: {
    name: 'weatherTool',
    description: 'Weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

describe('YandexGPT emulator', () => {
  let running: RunningEmulator;
  let api: string;

  const complete = (body: Record<string, unknown>, headers: Record<string, string> = API_KEY_AUTH) =>
    postJson(`${api}/completion`, body, headers);
  const hello = (text = 'Hello there', completionOptions: Record<string, unknown> = {}) => ({
    modelUri: MODEL_URI,
    completionOptions,
    messages: [
      { role: 'system', text: 'Be brief' },
      { role: 'user', text },
    ],
  });

  beforeAll(async () => {
    running = await startEmulator();
    api = `${running.base}/yandex/foundationModels/v1`;
  });
  beforeEach(() => postJson(`${running.base}/_emulator/reset`, {}));
  afterAll(() => running.close());

  it('should answer wrapped in result, with text and string counters', async () => {
    const res = await complete(hello('Hello there', { temperature: 0.3, maxTokens: '2000' }));
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({
      result: {
        alternatives: [{ message: { role: 'assistant', text: HELLO_ANSWER }, status: 'ALTERNATIVE_STATUS_FINAL' }],
        usage: {
          inputTextTokens: '4',
          completionTokens: '8',
          totalTokens: '12',
          completionTokensDetails: {},
        },
        modelVersion: '23.10.2024',
      },
    });
  });

  it('should accept maxTokens as a number and report TRUNCATED_FINAL', async () => {
    const body = await readJson(await complete(hello('Hello there', { maxTokens: 2 })));
    expect(body.result.alternatives[0]).toEqual({
      message: { role: 'assistant', text: 'Echo: Hello' },
      status: 'ALTERNATIVE_STATUS_TRUNCATED_FINAL',
    });
    expect(body.result.usage.completionTokens).toBe('2');
  });

  it('should stream NDJSON with cumulative text, PARTIAL lines, then FINAL', async () => {
    const res = await complete(hello('Hello there', { stream: true }));
    expect(res.status).toBe(200);
    const raw = await res.text();
    expect(raw.endsWith('}\n')).toBe(true);
    expect(raw).not.toContain('data:');
    const lines = parseNdjson(raw);
    expect(lines).toHaveLength(8 + 1);
    const alternatives = lines.map((line) => line.result.alternatives[0]);
    let previous = '';
    for (const alternative of alternatives.slice(0, 8)) {
      expect(alternative.status).toBe('ALTERNATIVE_STATUS_PARTIAL');
      expect(alternative.message.text.startsWith(previous)).toBe(true);
      expect(alternative.message.text.length).toBeGreaterThan(previous.length);
      previous = alternative.message.text;
    }
    expect(previous).toBe(HELLO_ANSWER);
    expect(alternatives[8]).toEqual({
      message: { role: 'assistant', text: HELLO_ANSWER },
      status: 'ALTERNATIVE_STATUS_FINAL',
    });
    expect(lines[8].result.usage.totalTokens).toBe('12');
  });

  it('should call a tool with object arguments and answer the tool result given in a user message', async () => {
    const call = await readJson(await complete({ ...hello('Weather in Moscow?'), tools: [weatherTool] }));
    expect(call.result.alternatives[0]).toEqual({
      message: {
        role: 'assistant',
        toolCallList: {
          toolCalls: [{ functionCall: { name: 'weatherTool', arguments: { city: 'Weather in Moscow?' } } }],
        },
      },
      status: 'ALTERNATIVE_STATUS_TOOL_CALLS',
    });
    const answer = await readJson(
      await complete({
        modelUri: MODEL_URI,
        tools: [weatherTool],
        messages: [
          { role: 'user', text: 'Weather in Moscow?' },
          call.result.alternatives[0].message,
          {
            role: 'user',
            toolResultList: { toolResults: [{ functionResult: { name: 'weatherTool', content: '8°C' } }] },
          },
        ],
      }),
    );
    expect(answer.result.alternatives[0]).toEqual({
      message: { role: 'assistant', text: `Tool result: 8°C ${ANSWER_PADDING}` },
      status: 'ALTERNATIVE_STATUS_FINAL',
    });
  });

  it('should honour toolChoice NONE and stream a tool call as one TOOL_CALLS line', async () => {
    const none = await readJson(await complete({ ...hello(), tools: [weatherTool], toolChoice: { mode: 'NONE' } }));
    expect(none.result.alternatives[0].message.text).toBe(HELLO_ANSWER);
    const streamed = parseNdjson(
      await (await complete({ ...hello('Moscow', { stream: true }), tools: [weatherTool] })).text(),
    );
    expect(streamed).toHaveLength(1);
    expect(streamed[0].result.alternatives[0].status).toBe('ALTERNATIVE_STATUS_TOOL_CALLS');
  });

  it('should accept Bearer with x-folder-id and refuse bad credentials with grpc bodies', async () => {
    const bearer = await complete(hello(), {
      authorization: `Bearer ${DEFAULT_YANDEX_API_KEY}`,
      'x-folder-id': DEFAULT_YANDEX_FOLDER_ID,
    });
    expect(bearer.status).toBe(200);
    const wrong = await complete(hello(), { authorization: 'Api-Key nope' });
    expect(wrong.status).toBe(401);
    expect(await readJson(wrong)).toEqual({
      error: { grpcCode: 16, httpCode: 401, message: 'Unknown api key', httpStatus: 'Unauthorized', details: [] },
    });
    const noFolder = await complete(hello(), { authorization: `Bearer ${DEFAULT_YANDEX_API_KEY}` });
    expect(noFolder.status).toBe(401);
  });

  it('should refuse a folder mismatch with 400 grpcCode 3 and an unknown model with 404 grpcCode 5', async () => {
    const mismatch = await complete({ ...hello(), modelUri: 'gpt://b1gother/yandexgpt/latest' });
    expect(mismatch.status).toBe(400);
    expect((await readJson(mismatch)).error).toMatchObject({
      grpcCode: 3,
      message: `Specified folder ID 'b1gother' does not match with service account folder ID '${DEFAULT_YANDEX_FOLDER_ID}'`,
    });
    const unknown = await complete({ ...hello(), modelUri: `gpt://${DEFAULT_YANDEX_FOLDER_ID}/gpt-5/latest` });
    expect(unknown.status).toBe(404);
    expect((await readJson(unknown)).error.grpcCode).toBe(5);
    const content = await complete({ modelUri: MODEL_URI, messages: [{ role: 'user', content: 'Hi' }] });
    expect(content.status).toBe(400);
    const hot = await complete(hello('Hi', { temperature: 1.5 }));
    expect(hot.status).toBe(400);
  });

  it('should tokenize and embed', async () => {
    const tokens = await readJson(
      await postJson(`${api}/tokenize`, { modelUri: MODEL_URI, text: 'При вет' }, API_KEY_AUTH),
    );
    expect(tokens.modelVersion).toBe('23.10.2024');
    expect(tokens.tokens).toHaveLength(2);
    expect(tokens.tokens[0]).toEqual({ id: expect.stringMatching(/^\d+$/), text: '▁При' });
    const embedding = await readJson(
      await postJson(
        `${api}/textEmbedding`,
        { modelUri: `emb://${DEFAULT_YANDEX_FOLDER_ID}/text-search-doc/latest`, text: 'alpha beta' },
        API_KEY_AUTH,
      ),
    );
    expect(embedding).toEqual({
      embedding: embeddingVector('alpha beta', YANDEX_EMBEDDING_DIMENSIONS),
      numTokens: '2',
      modelVersion: '23.10.2024',
    });
    const sized = await readJson(
      await postJson(
        `${api}/textEmbedding`,
        { modelUri: `emb://${DEFAULT_YANDEX_FOLDER_ID}/text-search-query/latest`, text: 'x', dim: '256' },
        API_KEY_AUTH,
      ),
    );
    expect(sized.embedding).toHaveLength(256);
  });

  describe('faults', () => {
    it('should answer injected statuses with grpc bodies', async () => {
      const res = await complete(hello('Hi [[fault:status=429]]'));
      expect(res.status).toBe(429);
      expect(await readJson(res)).toEqual({
        error: {
          grpcCode: 8,
          httpCode: 429,
          message: YANDEX_QUOTA_MESSAGE,
          httpStatus: 'Too Many Requests',
          details: [],
        },
      });
      const unavailable = await complete(hello(), { ...API_KEY_AUTH, 'x-emulator-fault': 'status=503' });
      expect((await readJson(unavailable)).error.grpcCode).toBe(14);
    });

    it('should truncate a stream so that the last status stays PARTIAL', async () => {
      const lines = parseNdjson(
        await (await complete(hello('Hello there [[fault:truncate-after=3]]', { stream: true }))).text(),
      );
      expect(lines).toHaveLength(3);
      expect(lines.every((l) => l.result.alternatives[0].status === 'ALTERNATIVE_STATUS_PARTIAL')).toBe(true);
    });

    it('should end a stream with a grpc-gateway error line after n lines with stream-error', async () => {
      const lines = parseNdjson(
        await (await complete(hello('Hello there [[fault:stream-error=2]]', { stream: true }))).text(),
      );
      expect(lines).toHaveLength(3);
      expect(lines.slice(0, 2).every((l) => l.result.alternatives[0].status === 'ALTERNATIVE_STATUS_PARTIAL')).toBe(
        true,
      );
      expect(lines[2]).toEqual({
        error: {
          grpcCode: 13,
          httpCode: 500,
          message: 'Internal Server Error',
          httpStatus: 'Internal Server Error',
          details: [],
        },
      });
    });

    it('should put one broken line in a stream with malformed-json', async () => {
      const raw = await (await complete(hello('Hello there [[fault:malformed-json]]', { stream: true }))).text();
      const lines = raw.split('\n').filter((line) => line !== '');
      expect(lines).toHaveLength(10);
      expect(() => JSON.parse(lines[1]) as unknown).toThrow(SyntaxError);
      expect(() => parseNdjson([lines[0], ...lines.slice(2)].join('\n'))).not.toThrow();
    });

    it('should end a filtered stream with a CONTENT_FILTER line that is not a prefix continuation', async () => {
      const lines = parseNdjson(
        await (await complete(hello('Hello there [[fault:content-filter]]', { stream: true }))).text(),
      );
      const alternatives = lines.map((l) => l.result.alternatives[0]);
      expect(alternatives).toHaveLength(4 + 1);
      const last = alternatives[4];
      expect(last).toEqual({
        message: { role: 'assistant', text: YANDEX_FILTER_TEXT },
        status: 'ALTERNATIVE_STATUS_CONTENT_FILTER',
      });
      expect(last.message.text.startsWith(alternatives[3].message.text)).toBe(false);
    });

    it('should refuse completions beyond EMULATOR_YANDEX_MAX_CONCURRENT with 429 grpcCode 8', async () => {
      const limited = await startEmulator({ yandexMaxConcurrent: 1 });
      try {
        const url = `${limited.base}/yandex/foundationModels/v1/completion`;
        const slow = postJson(url, hello(), { ...API_KEY_AUTH, 'x-emulator-latency-ms': '150' });
        await new Promise((resolve) => setTimeout(resolve, 50));
        const second = await postJson(url, hello(), API_KEY_AUTH);
        expect(second.status).toBe(429);
        expect((await readJson(second)).error.grpcCode).toBe(8);
        expect((await slow).status).toBe(200);
        expect((await postJson(url, hello(), API_KEY_AUTH)).status).toBe(200);
      } finally {
        await limited.close();
      }
    });

    it('should count Yandex routes in the stats', async () => {
      await complete(hello());
      await postJson(`${api}/tokenize`, { modelUri: MODEL_URI, text: 'x' }, API_KEY_AUTH);
      const stats = await readJson(await fetch(`${running.base}/_emulator/stats`));
      expect(stats.yandex.routes).toEqual({ 'POST /completion': 1, 'POST /tokenize': 1 });
    });
  });
});
