import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ErrorCode, type ChatCompletionChunk } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import { MemoryStore } from '@xrouter/store';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';
import { buildRouter, type TestRouter } from '../support/router';
import { failure } from '../support/outcomes';

/** Two OpenAI-compatible upstreams ("primary", "secondary") on two emulator processes-in-process, faults on demand. */
describe('routing and resilience against emulator faults', () => {
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

  async function fault(url: string, spec: { fault: string; rate?: number; count?: number }): Promise<void> {
    const res = await fetch(`${url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'mts', ...spec }),
    });
    expect(res.status).toBe(201);
  }

  async function requestsSeen(url: string): Promise<number> {
    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as { mts: { requests: number } };
    return stats.mts.requests;
  }

  async function router(models: string, defaults = ''): Promise<TestRouter> {
    const config = parseRoutingConfig(
      `${defaults}
providers:
  - { id: primary, type: openai, profile: mts, free: true, base_url: "${urls.primary}/mts/v1", accounts: [{ id: a, api_key: k }] }
  - { id: secondary, type: openai, profile: mts, free: true, base_url: "${urls.secondary}/mts/v1", accounts: [{ id: a, api_key: k }] }
models:
${models}
`,
      'test.yaml',
      {},
    );
    current = await buildRouter(config, new MemoryStore());
    return current;
  }

  const FALLBACK = `  - name: m
    strategy: fallback
    deployments: [{ provider: primary, model: mws-gpt-alpha }, { provider: secondary, model: mws-gpt-alpha }]`;
  const ask = (text = 'hi') => ({ model: 'm', messages: [{ role: 'user' as const, content: text }] });

  it('should serve 500 requests when the primary fails half of them with 503, using the fallback', async () => {
    const { router: r } = await router(FALLBACK, 'defaults: { circuit_breaker: { failure_threshold: 1000 } }');
    await fault(urls.primary, { fault: 'status=503', rate: 0.5 });
    const outcomes = [];
    for (let i = 0; i < 500; i++) outcomes.push(await r.chat(ask(), { requestId: `r${i}` }));
    expect(outcomes).toHaveLength(500);
    expect(outcomes.every((o) => o.value.choices[0].message.content?.startsWith('Echo: hi'))).toBe(true);
    const fellBack = outcomes.filter((o) => o.target.provider.id === 'secondary');
    expect(fellBack).toHaveLength(250);
    expect(fellBack.every((o) => o.attempts === 2)).toBe(true);
    expect(outcomes.filter((o) => o.attempts === 1).every((o) => o.target.provider.id === 'primary')).toBe(true);
  });

  it('should stop sending to an open breaker until the cooldown, then send exactly the probes, then recover', async () => {
    const { router: r, metrics } = await router(
      FALLBACK,
      'defaults: { circuit_breaker: { failure_threshold: 3, window_ms: 10000, cooldown_ms: 800, half_open_probes: 1 } }',
    );
    await fault(urls.primary, { fault: 'status=503' });
    for (let i = 0; i < 3; i++)
      expect((await r.chat(ask(), { requestId: `f${i}` })).target.provider.id).toBe('secondary');
    expect(await requestsSeen(urls.primary)).toBe(3);
    expect(r.deploymentStatus().find((d) => d.provider === 'primary')?.breaker.state).toBe('open');
    const gauge = await metrics.breakerState.get();
    expect(gauge.values.find((v) => v.labels.deployment === 'primary/a/mws-gpt-alpha')?.value).toBe(2);
    expect((await metrics.fallbacks.get()).values[0]?.value).toBe(3);

    for (let i = 0; i < 20; i++) expect((await r.chat(ask(), { requestId: `o${i}` })).attempts).toBe(1);
    expect(await requestsSeen(urls.primary)).toBe(3);

    await new Promise((done) => setTimeout(done, 850));
    await Promise.all(Array.from({ length: 10 }, (_, i) => r.chat(ask(), { requestId: `p${i}` })));
    expect(await requestsSeen(urls.primary)).toBe(4); // exactly one probe; it failed, so open again

    await fetch(`${urls.primary}/_emulator/faults`, { method: 'DELETE' });
    await new Promise((done) => setTimeout(done, 850));
    const probe = await r.chat(ask(), { requestId: 'probe' });
    expect(probe.target.provider.id).toBe('primary');
    const after = await Promise.all(Array.from({ length: 5 }, (_, i) => r.chat(ask(), { requestId: `b${i}` })));
    expect(after.every((o) => o.target.provider.id === 'primary')).toBe(true);
  });

  it('should cost no more than the first-token timeout when the primary hangs, then answer from the fallback', async () => {
    const { router: r } = await router(`${FALLBACK}\n    timeouts: { first_token_ms: 300 }`);
    await fault(urls.primary, { fault: 'hang' });
    const started = Date.now();
    const outcome = await r.chatStream({ ...ask(), stream: true }, { requestId: 'hang' });
    const elapsed = Date.now() - started;
    let text = '';
    for await (const chunk of outcome.value) text += chunk.choices[0]?.delta.content ?? '';
    expect(outcome.target.provider.id).toBe('secondary');
    expect(text).toContain('Echo: hi');
    expect(elapsed).toBeGreaterThanOrEqual(300);
    expect(elapsed).toBeLessThan(1_500);
  });

  it('should retry a 429 with Retry-After on another deployment at once', async () => {
    const { router: r } = await router(FALLBACK);
    await fault(urls.primary, { fault: 'status=429,retry-after=2', count: 1 });
    const started = Date.now();
    const outcome = await r.chat(ask(), { requestId: 'ra' });
    expect(outcome.target.provider.id).toBe('secondary');
    expect(outcome.attempts).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('should retry a 429 with Retry-After: 2 on the same deployment not before 2 s', async () => {
    const { router: r } = await router(`  - name: m
    deployments: [{ provider: primary, model: mws-gpt-alpha }]`);
    await fault(urls.primary, { fault: 'status=429,retry-after=2', count: 1 });
    const started = Date.now();
    const outcome = await r.chat(ask(), { requestId: 'same' });
    expect(outcome.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
  });

  it('should answer 429 with the Retry-After when it is longer than the request may wait', async () => {
    const { router: r } = await router(
      `  - name: m
    deployments: [{ provider: primary, model: mws-gpt-alpha }]`,
      'defaults: { retry: { max_retry_after_ms: 1000 } }',
    );
    await fault(urls.primary, { fault: 'status=429,retry-after=30', count: 1 });
    const error = await failure(r.chat(ask(), { requestId: 'long' }));
    expect(error.code).toBe(ErrorCode.RATE_LIMITED);
    expect(error.retryAfterMs).toBe(30_000);
    expect(await requestsSeen(urls.primary)).toBe(1);
  });

  it('should serve a stream from the fallback when the primary fails before the first byte', async () => {
    const { router: r } = await router(FALLBACK);
    await fault(urls.primary, { fault: 'status=503' });
    const outcome = await r.chatStream({ ...ask(), stream: true }, { requestId: 's1' });
    let text = '';
    for await (const chunk of outcome.value) text += chunk.choices[0]?.delta.content ?? '';
    expect(outcome.target.provider.id).toBe('secondary');
    expect(text).toContain('Echo: hi');
  });

  it('should end a stream cut off after its first chunk with an error, without falling back mid-stream', async () => {
    const { router: r } = await router(FALLBACK);
    await fault(urls.primary, { fault: 'truncate-after=2' });
    const outcome = await r.chatStream({ ...ask(), stream: true }, { requestId: 's2' });
    const seen: ChatCompletionChunk[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of outcome.value) seen.push(chunk);
      })(),
    );
    expect(outcome.target.provider.id).toBe('primary');
    expect(error.code).toBe(ErrorCode.STREAM_TRUNCATED);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(false);
    expect(await requestsSeen(urls.secondary)).toBe(0);
  });

  it('should spread 1,000 requests within ±5% of the weights', async () => {
    const { router: r } = await router(`  - name: m
    strategy: weighted
    deployments:
      - { provider: primary, model: mws-gpt-alpha, weight: 3 }
      - { provider: secondary, model: mws-gpt-alpha, weight: 1 }`);
    let onPrimary = 0;
    for (let i = 0; i < 1000; i++)
      if ((await r.chat(ask(), { requestId: `w${i}` })).target.provider.id === 'primary') onPrimary++;
    expect(onPrimary).toBeGreaterThanOrEqual(700);
    expect(onPrimary).toBeLessThanOrEqual(800);
  });

  it('should move least-latency traffic away from an upstream made slower', async () => {
    const { router: r } = await router(`  - name: m
    strategy: least-latency
    deployments: [{ provider: primary, model: mws-gpt-alpha }, { provider: secondary, model: mws-gpt-alpha }]`);
    for (let i = 0; i < 20; i++) await r.chat(ask(), { requestId: `warm${i}` });
    await fault(urls.primary, { fault: 'slow-first-byte=60' });
    for (let i = 0; i < 10; i++) await r.chat(ask(), { requestId: `shift${i}` });
    let onSecondary = 0;
    for (let i = 0; i < 100; i++)
      if ((await r.chat(ask(), { requestId: `ll${i}` })).target.provider.id === 'secondary') onSecondary++;
    expect(onSecondary).toBeGreaterThanOrEqual(85);
  });

  describe('failure classes and time budgets', () => {
    const breakerOf = (r: TestRouter, provider: string) =>
      r.router.deploymentStatus().find((d) => d.provider === provider)?.breaker;

    it('should answer plain and streamed calls from the fallback within first_token_ms of a hanging primary, 20 times, never charging the fallback', async () => {
      const r = await router(`${FALLBACK}\n    timeouts: { first_token_ms: 400, total_ms: 10000 }`);
      await fault(urls.primary, { fault: 'hang' });
      for (let i = 0; i < 20; i++) {
        const started = Date.now();
        const outcome =
          i % 2 === 0
            ? await r.router.chat(ask(), { requestId: `hang${i}` })
            : await r.router.chatStream({ ...ask(), stream: true }, { requestId: `hang${i}` });
        const elapsed = Date.now() - started;
        expect(outcome.target.provider.id).toBe('secondary');
        // The hanging primary costs one first-token bound until its breaker opens, then nothing.
        expect(elapsed).toBeLessThan(400 + 1_000);
        if (i % 2 === 1) for await (const chunk of outcome.value as AsyncIterable<ChatCompletionChunk>) void chunk;
      }
      expect(breakerOf(r, 'secondary')?.state).toBe('closed');
      expect(breakerOf(r, 'secondary')?.failures).toBe(0);
      expect(breakerOf(r, 'primary')?.state).toBe('open');
    });

    it('should leave every breaker closed when 10 % of 2,000 requests carry content the upstream rejects with 400', async () => {
      const r = await router(FALLBACK, 'defaults: { circuit_breaker: { failure_threshold: 5 } }');
      await fault(urls.primary, { fault: 'status=400', rate: 0.1 });
      const statuses: number[] = [];
      for (let i = 0; i < 2_000; i++) {
        try {
          await r.router.chat(ask(), { requestId: `c${i}` });
          statuses.push(200);
        } catch (error) {
          statuses.push((error as { status: number }).status);
        }
      }
      expect(statuses.filter((s) => s === 200)).toHaveLength(1_800);
      expect(statuses.filter((s) => s !== 200).every((s) => s === 400)).toBe(true);
      expect(await requestsSeen(urls.secondary)).toBe(0); // a client's bad input is not retried elsewhere
      expect(r.router.deploymentStatus().every((d) => d.breaker.state === 'closed' && d.breaker.failures === 0)).toBe(
        true,
      );
    });

    it('should mark an account whose credentials are rejected, go to the next deployment, and not retry it', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      try {
        const r = await router(FALLBACK);
        await fault(urls.primary, { fault: 'status=401' });
        const first = await r.router.chat(ask(), { requestId: 'cred1' });
        expect(first).toMatchObject({ attempts: 2, target: { provider: { id: 'secondary' } } });
        for (let i = 0; i < 5; i++) {
          expect(await r.router.chat(ask(), { requestId: `cred-more${i}` })).toMatchObject({ attempts: 1 });
        }
        expect(await requestsSeen(urls.primary)).toBe(1);
        expect(breakerOf(r, 'primary')).toMatchObject({ state: 'closed', failures: 0 });
        const status = r.router.deploymentStatus().find((d) => d.provider === 'primary');
        expect(status?.credentialsRejected?.message).toContain("rejected the gateway's credentials");
        const warnings = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes('rejected the credentials'));
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain("account 'a'");
        const gauge = await r.metrics.credentialsRejected.get();
        expect(gauge.values.find((v) => v.labels.provider === 'primary')?.value).toBe(1);
      } finally {
        warn.mockRestore();
      }
    });

    it('should charge a breaker once per request however many attempts it made', async () => {
      const r = await router(
        `  - name: m
    deployments: [{ provider: primary, model: mws-gpt-alpha }]
    retry: { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 1 }`,
        'defaults: { circuit_breaker: { failure_threshold: 3, window_ms: 60000, cooldown_ms: 60000, half_open_probes: 1 } }',
      );
      await fault(urls.primary, { fault: 'status=503' });
      await failure(r.router.chat(ask(), { requestId: 'once1' }));
      expect(await requestsSeen(urls.primary)).toBe(3);
      expect(breakerOf(r, 'primary')).toMatchObject({ state: 'closed', failures: 1 });
      await failure(r.router.chat(ask(), { requestId: 'once2' }));
      await failure(r.router.chat(ask(), { requestId: 'once3' }));
      expect(breakerOf(r, 'primary')?.state).toBe('open');
    });

    it('should take breaker settings from the deployment, then the model, then the defaults', async () => {
      const r = await router(
        `  - name: m
    strategy: fallback
    circuit_breaker: { failure_threshold: 2 }
    deployments:
      - { provider: primary, model: mws-gpt-alpha, circuit_breaker: { failure_threshold: 1, cooldown_ms: 5000 } }
      - { provider: secondary, model: mws-gpt-alpha }`,
        'defaults: { circuit_breaker: { failure_threshold: 50 } }',
      );
      await fault(urls.primary, { fault: 'status=503' });
      await r.router.chat(ask(), { requestId: 'per1' });
      expect(breakerOf(r, 'primary')?.state).toBe('open'); // its own threshold: 1
      await fault(urls.secondary, { fault: 'status=503', count: 1 });
      await r.router.chat(ask(), { requestId: 'per2' }); // one failure, then the retry answers
      expect(breakerOf(r, 'secondary')).toMatchObject({ state: 'closed', failures: 1 }); // the model's threshold: 2
      await fault(urls.secondary, { fault: 'status=503', count: 1 });
      await failure(r.router.chat(ask(), { requestId: 'per3' })); // the second failure opens it: nothing left to try
      expect(breakerOf(r, 'secondary')?.state).toBe('open');
    });

    it('should answer 503 with Retry-After until the first breaker lets a probe through when every one is open', async () => {
      const r = await router(
        `  - name: m
    deployments: [{ provider: primary, model: mws-gpt-alpha }]
    retry: { max_attempts: 1 }`,
        'defaults: { circuit_breaker: { failure_threshold: 1, window_ms: 60000, cooldown_ms: 5000, half_open_probes: 1 } }',
      );
      await fault(urls.primary, { fault: 'status=503' });
      expect((await failure(r.router.chat(ask(), { requestId: 'ra1' }))).code).toBe(ErrorCode.UPSTREAM_5XX);
      const refused = await failure(r.router.chat(ask(), { requestId: 'ra2' }));
      expect(refused.code).toBe(ErrorCode.NO_DEPLOYMENT_AVAILABLE);
      expect(refused.retryAfterMs).toBeGreaterThan(4_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(5_000);
    });
  });
});
