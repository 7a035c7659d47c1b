import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, type ChatCompletionRequest } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { MemoryStore } from '@xrouter/store';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { buildRouter, type TestRouter } from '../support/router';
import { collect, failure } from '../support/outcomes';

/**
 * A proxy in front of the emulator that keeps every request body it forwards: what the upstream was really sent.
 */
async function recordingProxy(upstream: string): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text) bodies.push(JSON.parse(text));
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(([name]) => !['host', 'content-length', 'connection'].includes(name)),
      ) as Record<string, string>;
      fetch(`${upstream}${req.url ?? ''}`, { method: req.method, headers, body: text || undefined })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

describe('routing by capability: refuse, skip, or visibly drop what a deployment lacks', () => {
  let emulator: EmulatorServer;
  let url: string;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let current: TestRouter | undefined;

  beforeAll(async () => {
    emulator = createEmulatorServer({ mtsApiKey: 'k' });
    url = `http://127.0.0.1:${await emulator.listen(0, '127.0.0.1')}`;
    proxy = await recordingProxy(url);
  });

  afterAll(async () => {
    await new Promise((done) => proxy.server.close(done));
    await emulator.close();
  });

  beforeEach(async () => {
    proxy.bodies.length = 0;
    await fetch(`${url}/_emulator/reset`, { method: 'POST' });
  });

  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  async function calls(provider: 'mts' | 'gigachat'): Promise<number> {
    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as Record<
      string,
      { routes: Record<string, number> }
    >;
    return (stats[provider].routes['POST /chat/completions'] ?? 0) + (stats[provider].routes['POST /embeddings'] ?? 0);
  }

  async function router(): Promise<TestRouter> {
    const config = parseRoutingConfig(
      `providers:
  - { id: mts, type: openai, profile: mts, free: true, base_url: "${proxy.url}/mts/v1", accounts: [{ id: a, api_key: k }] }
  - id: giga
    type: gigachat
    free: true
    base_url: "${proxy.url}/gigachat/api/v1"
    auth_url: "${url}/gigachat/api/v2/oauth"
    accounts: [{ id: a, auth_key: "${DEFAULT_GIGACHAT_AUTH_KEY}", scope: GIGACHAT_API_PERS }]
models:
  - name: giga
    deployments: [{ provider: giga, model: GigaChat-2 }]
  - name: giga-lenient
    drop_params: [logprobs, seed]
    deployments: [{ provider: giga, model: GigaChat-2 }]
  - name: chain
    deployments: [{ provider: giga, model: GigaChat-2 }, { provider: mts, model: mws-gpt-alpha }]
  - name: giga-embeddings
    kind: embeddings
    deployments: [{ provider: giga, model: Embeddings }]
  - name: sized-embeddings
    kind: embeddings
    deployments: [{ provider: giga, model: Embeddings }, { provider: mts, model: bge-m3 }]
`,
      'test.yaml',
      {},
    );
    current = await buildRouter(config, new MemoryStore(), undefined, true);
    return current;
  }

  const ask = (model: string, extra: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
    model,
    messages: [{ role: 'user', content: 'hi' }],
    ...extra,
  });

  it('should refuse logprobs to a GigaChat model with a 400 naming the field and the model, before any call', async () => {
    const { router: r } = await router();
    const error = await failure(r.chat(ask('giga', { logprobs: true }), { requestId: 'a' }));
    expect(error).toMatchObject({ code: ErrorCode.BAD_REQUEST, param: 'logprobs', status: 400 });
    expect(error.message).toContain("'giga'");
    expect(error.message).toContain('logprobs');
    expect(error.headers).toMatchObject({ 'x-xrouter-attempts': '0' });
    const streamed = await failure(r.chatStream(ask('giga', { stream: true, seed: 7 }), { requestId: 'b' }));
    expect(streamed).toMatchObject({ code: ErrorCode.BAD_REQUEST, param: 'seed' });
    expect(await calls('gigachat')).toBe(0);
  });

  it('should skip a deployment that cannot honour the request and serve it from the next', async () => {
    const { router: r } = await router();
    const outcome = await r.chat(ask('chain', { logprobs: true }), { requestId: 'c' });
    expect(outcome).toMatchObject({ attempts: 1, target: { provider: { id: 'mts' } }, dropped: [] });
    expect(await calls('gigachat')).toBe(0);
    // Without the feature, the first deployment serves it as before.
    expect((await r.chat(ask('chain'), { requestId: 'd' })).target.provider.id).toBe('giga');
  });

  it("should drop what the model's drop_params lists, say so, and never send it upstream", async () => {
    const { router: r } = await router();
    const outcome = await r.chat(ask('giga-lenient', { logprobs: true, top_logprobs: 2, seed: 1 }), {
      requestId: 'e',
    });
    expect(outcome.dropped).toEqual(['logprobs', 'seed', 'top_logprobs']);
    expect(outcome.value.choices[0].message.content).toBeTruthy();
    const sent = proxy.bodies.at(-1) as Record<string, unknown>;
    expect(sent).not.toHaveProperty('logprobs');
    expect(sent).not.toHaveProperty('seed');
    expect(sent).not.toHaveProperty('top_logprobs');
    // A feature not listed is still refused.
    const error = await failure(r.chat(ask('giga-lenient', { stop: ['x'] }), { requestId: 'f' }));
    expect(error).toMatchObject({ code: ErrorCode.BAD_REQUEST, param: 'stop' });
  });

  it('should drop on a stream too, and stream the answer', async () => {
    const { router: r } = await router();
    const outcome = await r.chatStream(ask('giga-lenient', { stream: true, seed: 3 }), { requestId: 'g' });
    expect(outcome.dropped).toEqual(['seed']);
    expect((await collect(outcome.value)).length).toBeGreaterThan(1);
  });

  it('should refuse dimensions to an embedding model without them, and serve them where a deployment has them', async () => {
    const { router: r } = await router();
    const error = await failure(
      r.embeddings({ model: 'giga-embeddings', input: ['x'], dimensions: 256 }, { requestId: 'h' }),
    );
    expect(error).toMatchObject({ code: ErrorCode.BAD_REQUEST, param: 'dimensions' });
    expect(error.message).toContain("'giga-embeddings'");
    expect(await calls('gigachat')).toBe(0);
    const sized = await r.embeddings({ model: 'sized-embeddings', input: ['x'], dimensions: 256 }, { requestId: 'i' });
    expect(sized.target.provider.id).toBe('mts');
    expect((proxy.bodies.at(-1) as Record<string, unknown>).dimensions).toBe(256);
  });
});
