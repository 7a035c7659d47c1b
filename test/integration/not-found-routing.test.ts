import 'reflect-metadata';
import { ErrorCode } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { MemoryStore } from '@xrouter/store';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { DEFAULT_GIGACHAT_AUTH_KEY } from '../../apps/provider-emulator/src/emulator-defaults';
import { buildRouter, type TestRouter } from '../support/router';
import { failure } from '../support/outcomes';

/** A deployment that answers 404 (unknown model) is not asked again by the same request; the next one may be. */
describe('routing a 404 model_not_found', () => {
  let primary: EmulatorServer;
  let secondary: EmulatorServer;
  let urls: { primary: string; secondary: string };
  let current: TestRouter | undefined;

  beforeAll(async () => {
    primary = createEmulatorServer({ mtsApiKey: 'k' });
    secondary = createEmulatorServer({ mtsApiKey: 'k' });
    urls = {
      primary: `http://127.0.0.1:${await primary.listen(0, '127.0.0.1')}`,
      secondary: `http://127.0.0.1:${await secondary.listen(0, '127.0.0.1')}`,
    };
  });

  afterAll(async () => {
    await primary.close();
    await secondary.close();
  });

  beforeEach(async () => {
    for (const url of Object.values(urls)) await fetch(`${url}/_emulator/reset`, { method: 'POST' });
  });

  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  async function requestsSeen(url: string, provider: 'mts' | 'gigachat' = 'mts'): Promise<number> {
    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as Record<
      string,
      { routes: Record<string, number> }
    >;
    return stats[provider].routes['POST /chat/completions'] ?? 0;
  }

  async function router(deployments: string): Promise<TestRouter> {
    const config = parseRoutingConfig(
      `defaults: { retry: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 1 } }
providers:
  - { id: primary, type: openai, profile: mts, free: true, base_url: "${urls.primary}/mts/v1", accounts: [{ id: a, api_key: k }] }
  - { id: secondary, type: openai, profile: mts, free: true, base_url: "${urls.secondary}/mts/v1", accounts: [{ id: a, api_key: k }] }
  - id: giga
    type: gigachat
    free: true
    base_url: "${urls.primary}/gigachat/api/v1"
    auth_url: "${urls.primary}/gigachat/api/v2/oauth"
    accounts: [{ id: a, auth_key: "${DEFAULT_GIGACHAT_AUTH_KEY}", scope: GIGACHAT_API_PERS }]
models:
  - name: m
    strategy: fallback
    deployments: ${deployments}
`,
      'test.yaml',
      {},
    );
    current = await buildRouter(config, new MemoryStore(), undefined, true);
    return current;
  }

  const ask = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('should send a request whose upstream model does not exist to its one deployment once, and answer 404', async () => {
    const { router: r } = await router('[{ provider: primary, model: no-such-model }]');
    const error = await failure(r.chat(ask, { requestId: 'one' }));
    expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
    expect(error.status).toBe(404);
    expect(await requestsSeen(urls.primary)).toBe(1);
    expect(error.headers).toMatchObject({ 'x-xrouter-attempts': '1' });
  });

  it("should send GigaChat's 404 No such model once, not max_attempts times, plain and streamed", async () => {
    const { router: r } = await router('[{ provider: giga, model: NonExistentModel }]');
    const plain = await failure(r.chat(ask, { requestId: 'giga' }));
    expect(plain).toMatchObject({ code: ErrorCode.MODEL_NOT_FOUND, message: 'giga: No such model' });
    expect(await requestsSeen(urls.primary, 'gigachat')).toBe(1);
    const streamed = await failure(r.chatStream({ ...ask, stream: true }, { requestId: 'giga-s' }));
    expect(streamed.code).toBe(ErrorCode.MODEL_NOT_FOUND);
    expect(await requestsSeen(urls.primary, 'gigachat')).toBe(2);
  });

  it('should fall back to the next deployment after a 404, without asking the first again', async () => {
    const { router: r } = await router(
      '[{ provider: primary, model: no-such-model }, { provider: secondary, model: mws-gpt-alpha }]',
    );
    const outcome = await r.chat(ask, { requestId: 'two' });
    expect(outcome).toMatchObject({ attempts: 2, target: { provider: { id: 'secondary' } } });
    expect(await requestsSeen(urls.primary)).toBe(1);
    expect(await requestsSeen(urls.secondary)).toBe(1);
  });

  it('should answer 404 after asking each of two deployments that lack the model once', async () => {
    const { router: r } = await router(
      '[{ provider: primary, model: no-such-model }, { provider: secondary, model: no-such-model }]',
    );
    const error = await failure(r.chat(ask, { requestId: 'three' }));
    expect(error.code).toBe(ErrorCode.MODEL_NOT_FOUND);
    expect(await requestsSeen(urls.primary)).toBe(1);
    expect(await requestsSeen(urls.secondary)).toBe(1);
    expect(error.headers).toMatchObject({ 'x-xrouter-attempts': '2' });
  });

  it('should carry the attempts on a 502 that exhausted every retry', async () => {
    const { router: r } = await router('[{ provider: primary, model: mws-gpt-alpha }]');
    await fetch(`${urls.primary}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'mts', fault: 'status=500' }),
    });
    const error = await failure(r.chat(ask, { requestId: 'four' }));
    expect(error.code).toBe(ErrorCode.UPSTREAM_5XX);
    expect(await requestsSeen(urls.primary)).toBe(3);
    expect(error.headers).toMatchObject({ 'x-xrouter-attempts': '3' });
  });
});
