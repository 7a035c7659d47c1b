import 'reflect-metadata';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { parseRoutingConfig } from '@xrouter/config';
import type { RoutingService } from '@xrouter/routing';
import { createStore, type Store } from '@xrouter/store';
import { buildRouter, type TestRouter } from '../support/router';
import { createEmulatorServer, type EmulatorServer } from '../../apps/provider-emulator/src/emulator-server';

const storeKinds = process.env.REDIS_URL ? ['memory', 'redis'] : ['memory'];

describe.each(storeKinds)('several accounts per provider (%s store)', (kind) => {
  let emulator: EmulatorServer;
  let routers: TestRouter[];
  let stores: Store[];
  let replicas: RoutingService[];

  beforeAll(async () => {
    emulator = createEmulatorServer({ mtsApiKey: 'mts-key' });
    const port = await emulator.listen(0, '127.0.0.1');
    const config = parseRoutingConfig(
      `providers:
  - id: mts
    type: openai
    profile: mts
    base_url: http://127.0.0.1:${port}/mts/v1
    accounts:
      - { id: first, api_key: mts-key, rpm: 3 }
      - { id: second, api_key: mts-key, rpm: 3 }
    free: true
models:
  - name: alpha
    deployments: [{ provider: mts, model: mws-gpt-alpha }]
`,
      'test.yaml',
      {},
    );
    const prefix = `xr-accounts-${Date.now()}-${kind}:`;
    const redisUrl = kind === 'redis' ? process.env.REDIS_URL : undefined;
    const shared = createStore({ redisUrl, keyPrefix: prefix });
    // Two replicas: with Redis each has its own connection; in-process they share the one store a replica would have.
    stores = kind === 'redis' ? [shared, createStore({ redisUrl, keyPrefix: prefix })] : [shared];
    routers = await Promise.all([0, 1].map((i) => buildRouter(config, stores[i % stores.length])));
    replicas = routers.map((r) => r.router);
  });

  afterAll(async () => {
    await Promise.all(routers.map((r) => r.close()));
    await Promise.all(stores.map((s) => s.close()));
    await emulator.close();
  });

  const ask = { model: 'alpha', messages: [{ role: 'user' as const, content: 'hi' }] };

  it('should take accounts in turn and stop at the sum of their limits, across replicas', async () => {
    const used: string[] = [];
    for (let i = 0; i < 6; i++) {
      const outcome = await replicas[i % 2].chat(ask, { requestId: `r${i}` });
      used.push(outcome.target.account.id);
      expect(outcome.attempts).toBe(1);
    }
    expect(used.filter((id) => id === 'first')).toHaveLength(3);
    expect(used.filter((id) => id === 'second')).toHaveLength(3);

    let refused: unknown;
    try {
      await replicas[0].chat(ask, { requestId: 'over' });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe(ErrorCode.RATE_LIMITED);
    expect((refused as GatewayError).retryAfterMs).toBeGreaterThan(0);
    expect((refused as GatewayError).retryAfterMs).toBeLessThanOrEqual(60_000);
  });
});
