import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { CallContext, DeploymentTarget, UpstreamHttpClient } from '@xrouter/providers';
import { MemoryStore } from '@xrouter/store';
import { GigaChatProvider } from '../../libs/providers/src/gigachat/gigachat.provider';
import { collect, failure } from '../support/outcomes';

/**
 * The GigaChat adapter held to the recorded exchanges (test/fixtures/recordings/gigachat, derived from the
 * ai-forever/gigachat SDK's cassettes): (a) for the OpenAI request that means the same, the adapter sends what the
 * SDK sent (method, path, headers that matter, the body field for field); (b) the recorded answer's bytes, served
 * back over real HTTP by a replay server, map to the right OpenAI output.
 */

const FIXTURES = join(__dirname, '..', 'fixtures', 'recordings', 'gigachat');

interface Fixture {
  source: string;
  request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  response: { status: number; headers: Record<string, string>; body: string };
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as Fixture;
}

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Serves the OAuth fixture on `/api/v2/oauth` and the current fixture's answer on anything else; records requests. */
class ReplayServer {
  readonly seen: Seen[] = [];
  current?: Fixture;
  private readonly server: Server;
  private readonly oauth = fixture('oauth');

  constructor() {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (part: Buffer) => parts.push(part));
      req.on('end', () => {
        this.seen.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(parts).toString('utf8'),
        });
        const answer = req.url === this.oauth.request.path ? this.oauth : this.current;
        if (!answer) {
          res.writeHead(500).end();
          return;
        }
        res.writeHead(answer.response.status, answer.response.headers);
        res.end(answer.response.body);
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The API requests (not OAuth) since the last call. */
  apiRequests(): Seen[] {
    const api = this.seen.filter((s) => s.path !== this.oauth.request.path);
    this.seen.length = 0;
    return api;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Field names and JSON value types, recursively: what must agree between the adapter's body and the recorded one. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, shapeOf(v)]),
    );
  }
  return value === null ? 'null' : typeof value;
}

describe('GigaChat adapter replaying the recorded v1 exchanges', () => {
  let replay: ReplayServer;
  let http: UpstreamHttpClient;
  let provider: GigaChatProvider;
  let base: string;
  let targetFor: (upstreamModel: string) => DeploymentTarget;

  beforeAll(async () => {
    replay = new ReplayServer();
    base = await replay.listen();
    const config = parseRoutingConfig(
      `providers:
  - id: giga
    type: gigachat
    base_url: ${base}/api/v1
    auth_url: ${base}/api/v2/oauth
    accounts: [{ id: main, auth_key: "a2V5OnNlY3JldA==", scope: GIGACHAT_API_PERS }]
    free: true
models:
  - name: giga
    deployments: [{ provider: giga, model: GigaChat }]
`,
      'replay.yaml',
      {},
    );
    const giga = config.providers[0];
    targetFor = (upstreamModel) => ({
      key: `giga/main/${upstreamModel}`,
      provider: giga,
      account: giga.accounts[0],
      upstreamModel,
    });
    http = new UpstreamHttpClient({ connectTimeoutMs: 5_000 });
    provider = new GigaChatProvider(http, new MemoryStore());
  });

  afterAll(async () => {
    await http.onApplicationShutdown();
    await replay.close();
  });

  const ctx = (upstreamModel: string, extra: Partial<CallContext> = {}): CallContext => ({
    target: targetFor(upstreamModel),
    signal: new AbortController().signal,
    requestId: 'req-replay',
    publicModel: 'giga',
    completionId: 'chatcmpl-replay',
    ...extra,
  });

  /** The one API request the adapter made, checked against the fixture's recorded request. */
  function expectRecordedRequest(recorded: Fixture, exact = true): Seen {
    const [sent, ...more] = replay.apiRequests();
    expect(more).toHaveLength(0);
    expect(sent.method).toBe(recorded.request.method);
    expect(sent.path).toBe(recorded.request.path);
    // The SDK's token is redacted to "REDACTED" in both the OAuth answer and the API call: the same token travels.
    expect(sent.headers.authorization).toBe(recorded.request.headers.authorization);
    if (recorded.request.method === 'POST') {
      expect(sent.headers['content-type']).toBe(recorded.request.headers['content-type']);
      const body: unknown = JSON.parse(sent.body);
      expect(shapeOf(body)).toEqual(shapeOf(recorded.request.body));
      if (exact) expect(body).toEqual(recorded.request.body);
    }
    return sent;
  }

  it('should get its token as the recorded OAuth exchange does (form scope, RqUID, Basic key)', async () => {
    replay.current = fixture('get_models');
    await provider.listModels(targetFor('GigaChat'), new AbortController().signal);
    const oauth = fixture('oauth');
    const sent = replay.seen.find((s) => s.path === oauth.request.path)!;
    expect(sent.method).toBe('POST');
    expect(sent.headers['content-type']).toBe(oauth.request.headers['content-type']);
    expect(sent.headers.rquid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // The cassette's recorder replaced the whole header ("Bearer REDACTED"); the documented scheme is Basic.
    expect(sent.headers.authorization).toBe('Basic a2V5OnNlY3JldA==');
    expect(new URLSearchParams(sent.body).get('scope')).toBe('GIGACHAT_API_PERS');
    expect([...new URLSearchParams(sent.body).keys()]).toEqual(['scope']);
    replay.apiRequests();
  });

  it('should send the recorded plain chat request and map the recorded answer with cached tokens', async () => {
    const recorded = fixture('chat_simple');
    replay.current = recorded;
    const request: ChatCompletionRequest = {
      model: 'giga',
      messages: [{ role: 'user', content: "Say 'Hello' and nothing else" }],
    };
    const completion = await provider.chat(request, ctx('GigaChat'));
    const sent = expectRecordedRequest(recorded);
    expect(sent.headers.accept).toBe('application/json');
    expect(completion).toEqual({
      id: 'chatcmpl-replay',
      object: 'chat.completion',
      created: 1768996171,
      model: 'giga',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello.' }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 17, completion_tokens: 3, total_tokens: 20, prompt_tokens_details: { cached_tokens: 2 } },
    });
  });

  it('should send the recorded stream request and map the recorded events, usage from the finish event', async () => {
    const recorded = fixture('stream_simple');
    replay.current = recorded;
    const chunks = await collect(
      await provider.chatStream(
        { model: 'giga', messages: [{ role: 'user', content: 'Count from 1 to 3' }], stream: true },
        ctx('GigaChat'),
      ),
    );
    const sent = expectRecordedRequest(recorded);
    expect(sent.headers.accept).toBe(recorded.request.headers.accept);
    expect(sent.headers['cache-control']).toBe(recorded.request.headers['cache-control']);

    const expectedText = recorded.response.body
      .split('\n\n')
      .filter((line) => line.startsWith('data: {'))
      .map((line) => (JSON.parse(line.slice(6)) as { choices: [{ delta: { content: string } }] }).choices[0].delta)
      .map((delta) => delta.content)
      .join('');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(expectedText);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.filter((c) => c.choices[0]?.delta.role !== undefined)).toHaveLength(1);
    expect(chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(['stop']);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === 'chatcmpl-replay')).toBe(true);
    expect(chunks[chunks.length - 1]).toMatchObject({
      choices: [],
      usage: {
        prompt_tokens: 17,
        completion_tokens: 42,
        total_tokens: 59,
        prompt_tokens_details: { cached_tokens: 2 },
      },
    });
  });

  it.each(['chat_response_format_json_schema', 'chat_parse_json_schema'])(
    'should translate OpenAI json_schema to the flat recorded response_format (%s) and pass the JSON answer',
    async (name) => {
      const recorded = fixture(name);
      replay.current = recorded;
      const body = recorded.request.body as {
        model: string;
        messages: ChatCompletionRequest['messages'];
        response_format: { schema: Record<string, unknown>; strict: boolean };
      };
      const completion = await provider.chat(
        {
          model: 'giga',
          messages: body.messages,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'Out', schema: body.response_format.schema, strict: body.response_format.strict },
          },
        },
        ctx(body.model),
      );
      expectRecordedRequest(recorded);
      expect(JSON.parse(completion.choices[0].message.content!)).toEqual({ answer: 'ok', n: 3 });
      expect(completion.usage).toEqual({
        prompt_tokens: 24,
        completion_tokens: 21,
        total_tokens: 45,
        prompt_tokens_details: { cached_tokens: 0 },
      });
    },
  );

  it('should send the recorded request for an unknown model and map the recorded 404 to model_not_found', async () => {
    const recorded = fixture('chat_model_not_found');
    replay.current = recorded;
    const error = await failure(
      provider.chat({ model: 'giga', messages: [{ role: 'user', content: 'Hello' }] }, ctx('NonExistentModel')),
    );
    expectRecordedRequest(recorded);
    expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
    expect(error.upstreamStatus).toBe(404);
    expect(error.message).toContain('No such model');
  });

  it.each([
    ['embeddings_single', 'Hello, world!', [9]],
    ['embeddings_multiple', ['First text', 'Second text'], [7, 7]],
  ])('should send the recorded embeddings request (%s) and sum the per-item usage', async (name, input, perItem) => {
    const recorded = fixture(name);
    replay.current = recorded;
    const result = await provider.embeddings({ model: 'giga', input }, ctx('Embeddings'));
    expectRecordedRequest(recorded);
    const answer = JSON.parse(recorded.response.body) as { data: Array<{ embedding: number[] }> };
    expect(result.data.map((d) => d.embedding)).toEqual(answer.data.map((d) => d.embedding));
    expect(result.data.map((d) => d.index)).toEqual(answer.data.map((_, i) => i));
    const total = perItem.reduce((a, b) => a + b, 0);
    expect(result.usage).toEqual({ prompt_tokens: total, total_tokens: total });
  });

  it('should send the recorded models request and read every recorded model id', async () => {
    const recorded = fixture('get_models');
    replay.current = recorded;
    const ids = await provider.listModels(targetFor('GigaChat'), new AbortController().signal);
    expectRecordedRequest(recorded);
    const answer = JSON.parse(recorded.response.body) as { data: Array<{ id: string }> };
    expect(ids).toEqual(answer.data.map((m) => m.id));
    expect(ids).toContain('GigaChat-2-Max');
  });

  it("should send X-Session-ID from the client's session header, else from the request's user", async () => {
    replay.current = fixture('chat_simple');
    const ask: ChatCompletionRequest = { model: 'giga', messages: [{ role: 'user', content: 'hi' }], user: 'u-42' };
    await provider.chat(ask, ctx('GigaChat', { sessionId: 'session-from-header' }));
    expect(replay.apiRequests()[0].headers['x-session-id']).toBe('session-from-header');
    await provider.chat(ask, ctx('GigaChat'));
    const [sent] = replay.apiRequests();
    expect(sent.headers['x-session-id']).toBe('u-42');
    expect(JSON.parse(sent.body)).not.toHaveProperty('user');
    await provider.chat({ ...ask, user: undefined }, ctx('GigaChat'));
    expect(replay.apiRequests()[0].headers['x-session-id']).toBeUndefined();
  });
});
