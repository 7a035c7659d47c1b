import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Global,
  INestApplication,
  Injectable,
  Logger,
  Module,
  type Type,
} from '@nestjs/common';
import { APP_GUARD, Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { Registry } from 'prom-client';
import { IS_PUBLIC, Public, type Principal } from '@xrouter/auth';
import { ErrorCode, GatewayError, OpenAiExceptionFilter } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import {
  rateLimitConfig,
  RateLimitGuard,
  RateLimitModule,
  RateLimitService,
  SkipRateLimit,
  type RateLimitSettings,
} from '@xrouter/rate-limit';
import { LocalLimits, MemoryStore, RedisStore, STORE, type Store } from '@xrouter/store';
import { deleteRedisKeys } from '../support/redis-cleanup';

/**
 * Per-key rate limits over a real store: the in-process one always, Redis too when REDIS_URL is set. Two
 * RateLimitService instances on one store (two RedisStore connections for Redis) stand for two gateway replicas.
 */

const REDIS_URL = process.env.REDIS_URL;
const RUN_PREFIX = `xr-test:${randomUUID()}:`;

afterAll(async () => {
  await deleteRedisKeys(REDIS_URL, RUN_PREFIX);
});

/** OpenAI's duration format for a reset within the minute: `59.2s`, `1m0s`. */
const DURATION = /^(1m)?\d+(\.\d+)?s$/;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const DEFAULTS: RateLimitSettings = {
  perSecond: { ratePerSec: 10, burst: 20 },
  defaultRpm: null,
  defaultTpm: null,
  failMode: 'local',
};

const principal = (overrides: Partial<Principal> = {}): Principal => ({
  kind: 'api_key',
  credentialId: randomUUID(),
  userId: 'user-1',
  scopes: ['chat'],
  allowedModels: null,
  rpmLimit: null,
  tpmLimit: null,
  expiresAt: null,
  budgets: [],
  issuers: [],
  ...overrides,
});

/** Opens the stores of two replicas of one deployment. */
type OpenReplicas = () => [Store, Store];
const variants: Array<[string, OpenReplicas]> = [
  [
    'memory',
    () => {
      const store = new MemoryStore();
      return [store, store];
    },
  ],
];
if (REDIS_URL) {
  variants.push([
    'redis',
    () => {
      const keyPrefix = `${RUN_PREFIX}${randomUUID()}:`;
      return [RedisStore.fromUrl(REDIS_URL, { keyPrefix }), RedisStore.fromUrl(REDIS_URL, { keyPrefix })];
    },
  ]);
}

/** The outcome of one check: the headers of an allowed request, or the refusal. */
async function attempt(limiter: RateLimitService, caller: Principal): Promise<Record<string, string> | GatewayError> {
  try {
    return await limiter.check(caller);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
}

describe.each(variants)('rate limits on the %s store', (_kind, openReplicas) => {
  let stores: [Store, Store];

  const replicas = (settings: Partial<RateLimitSettings> = {}): [RateLimitService, RateLimitService] => {
    const config = { ...DEFAULTS, ...settings };
    return [
      new RateLimitService(stores[0], config, new XRouterMetrics(new Registry()), new LocalLimits()),
      new RateLimitService(stores[1], config, new XRouterMetrics(new Registry()), new LocalLimits()),
    ];
  };

  beforeEach(() => {
    stores = openReplicas();
  });

  afterEach(async () => {
    await Promise.all([...new Set(stores)].map((store) => store.close()));
  });

  it('should allow exactly 10 of 25 concurrent requests across two replicas for a 10 RPM key', async () => {
    const [a, b] = replicas();
    const caller = principal({ rpmLimit: 10 });
    const outcomes = await Promise.all(Array.from({ length: 25 }, (_, i) => attempt(i % 2 ? a : b, caller)));
    const allowed = outcomes.filter((o): o is Record<string, string> => !(o instanceof GatewayError));
    const refused = outcomes.filter((o): o is GatewayError => o instanceof GatewayError);
    expect(allowed).toHaveLength(10);
    expect(allowed.map((h) => Number(h['x-ratelimit-remaining-requests'])).sort((x, y) => x - y)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(refused).toHaveLength(15);
    for (const error of refused) {
      expect(error.code).toBe(ErrorCode.RATE_LIMITED);
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect(error.headers).toMatchObject({
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '0',
      });
      expect(error.headers?.['x-ratelimit-reset-requests']).toMatch(DURATION);
      expect(error.message).toContain('requests per minute (RPM)');
    }
  });

  it('should refuse once the tokens charged after the calls reach the TPM limit, on either replica', async () => {
    const [a, b] = replicas();
    const caller = principal({ tpmLimit: 1_000 });
    await expect(a.check(caller)).resolves.toMatchObject({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': '0s',
    });
    await a.charge(caller, 900);
    await expect(b.check(caller)).resolves.toMatchObject({ 'x-ratelimit-remaining-tokens': '100' });
    await b.charge(caller, 200);
    const refusal = await attempt(a, caller);
    expect(refusal).toBeInstanceOf(GatewayError);
    const error = refusal as GatewayError;
    expect(error.code).toBe(ErrorCode.RATE_LIMITED);
    expect(error.message).toContain('tokens per minute (TPM)');
    expect(error.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(error.headers).toMatchObject({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '0',
    });
    expect(error.headers?.['x-ratelimit-reset-tokens']).toMatch(DURATION);
  });

  it('should allow a burst of 20 at once, refuse the 21st, and allow one more 100 ms later', async () => {
    const [a, b] = replicas();
    const caller = principal();
    const burst = await Promise.all(Array.from({ length: 21 }, (_, i) => attempt(i % 2 ? a : b, caller)));
    const refused = burst.filter((o): o is GatewayError => o instanceof GatewayError);
    expect(refused).toHaveLength(1);
    expect(refused[0].message).toContain('requests per second');
    expect(refused[0].retryAfterMs).toBeLessThanOrEqual(100);
    expect(refused[0].headers).toMatchObject({
      'x-ratelimit-limit-requests': '20',
      'x-ratelimit-remaining-requests': '0',
    });
    await sleep(110);
    await expect(a.check(caller)).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '0' });
    await expect(attempt(b, caller)).resolves.toBeInstanceOf(GatewayError);
  });

  it('should not spend the RPM of a request the per-second bucket refused', async () => {
    const [a, b] = replicas({ perSecond: { ratePerSec: 10, burst: 2 } });
    const caller = principal({ rpmLimit: 5 });
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i % 2 ? a : b, caller)));
    expect(outcomes.filter((o) => o instanceof GatewayError)).toHaveLength(4);
    await sleep(220);
    // Had the 4 refused requests been counted, the 5 RPM would be used up by now.
    for (let i = 0; i < 2; i++) await expect(attempt(i % 2 ? a : b, caller)).resolves.not.toBeInstanceOf(GatewayError);
  });
});

describe('rate limits while the store cannot answer', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warn.mockRestore());

  const rateLimitWarnings = (): unknown[] =>
    warn.mock.calls.map((call: unknown[]) => call[0]).filter((m) => String(m).includes('rate_limit'));

  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    return port;
  }

  const brokenStores: Array<[string, () => Promise<Store>]> = [
    [
      'a closed store',
      async () => {
        const store = new MemoryStore();
        await store.close();
        return store;
      },
    ],
    ['a Redis nothing listens for', async () => RedisStore.fromUrl(`redis://127.0.0.1:${await closedPort()}`)],
  ];

  describe.each(brokenStores)('on %s', (_title, open) => {
    let store: Store;
    let metrics: XRouterMetrics;

    beforeEach(async () => {
      store = await open();
      metrics = new XRouterMetrics(new Registry());
    });

    afterEach(async () => {
      await store.close();
    });

    const storeErrors = async (): Promise<number> =>
      (await metrics.storeErrors.get()).values.find((v) => v.labels.operation === 'rate_limit')?.value ?? 0;

    it('should enforce the limit on this replica in local mode, count the errors and log one line', async () => {
      const limiter = new RateLimitService(store, DEFAULTS, metrics, new LocalLimits());
      const caller = principal({ rpmLimit: 1, tpmLimit: 10 });
      await expect(limiter.check(caller)).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '0' });
      for (let i = 0; i < 2; i++) await expect(limiter.check(caller)).rejects.toMatchObject({ status: 429 });
      await expect(limiter.charge(caller, 50)).resolves.toBeUndefined();
      await expect(storeErrors()).resolves.toBe(4);
      expect(rateLimitWarnings()).toHaveLength(1);
    });

    it('should refuse requests with 503 in closed mode, count the errors and log one line', async () => {
      const limiter = new RateLimitService(store, { ...DEFAULTS, failMode: 'closed' }, metrics, new LocalLimits());
      for (let i = 0; i < 3; i++) {
        await expect(limiter.check(principal())).rejects.toMatchObject({
          code: ErrorCode.SERVICE_UNAVAILABLE,
          status: 503,
        });
      }
      await expect(storeErrors()).resolves.toBe(3);
      expect(rateLimitWarnings()).toHaveLength(1);
    });
  });
});

describe('RateLimitGuard in a Nest app over HTTP', () => {
  /** Stands in for the auth guard: the principal comes from `x-test-principal` (JSON) unless the route is public. */
  @Injectable()
  class FakeAuthGuard implements CanActivate {
    constructor(private readonly reflector: Reflector) {}

    canActivate(context: ExecutionContext): boolean {
      if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
      const request = context.switchToHttp().getRequest<Request>();
      const header = request.headers['x-test-principal'];
      if (typeof header !== 'string') throw new GatewayError(ErrorCode.INVALID_API_KEY, 'no key');
      request.principal = JSON.parse(header) as Principal;
      return true;
    }
  }

  @Controller()
  class DummyController {
    @Get('limited')
    limited(): { ok: true } {
      return { ok: true };
    }

    @Public()
    @Get('open')
    open(): { ok: true } {
      return { ok: true };
    }

    @SkipRateLimit()
    @Get('skipped')
    skipped(): { ok: true } {
      return { ok: true };
    }
  }

  let store: MemoryStore;

  @Global()
  @Module({
    providers: [
      { provide: STORE, useFactory: () => store },
      { provide: LocalLimits, useFactory: () => new LocalLimits() },
      { provide: XRouterMetrics, useFactory: () => new XRouterMetrics(new Registry()) },
      { provide: rateLimitConfig.KEY, useValue: DEFAULTS },
    ],
    exports: [STORE, LocalLimits, XRouterMetrics, rateLimitConfig.KEY],
  })
  class TestInfrastructureModule {}

  /** The app with these global guards, in this order (the gateway registers its own in `gateway.module.ts`). */
  async function start(guards: Array<Type<CanActivate>>): Promise<{
    app: INestApplication;
    url: string;
  }> {
    const moduleRef = await Test.createTestingModule({
      imports: [TestInfrastructureModule, RateLimitModule],
      controllers: [DummyController],
      providers: guards.map((guard) => ({ provide: APP_GUARD, useClass: guard })),
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new OpenAiExceptionFilter());
    await app.listen(0, '127.0.0.1');
    const server: Server = app.getHttpServer();
    const { port } = server.address() as AddressInfo;
    return { app, url: `http://127.0.0.1:${port}` };
  }

  let app: INestApplication | undefined;

  beforeEach(() => {
    store = new MemoryStore();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await store.close();
  });

  const as = (caller: Principal): RequestInit => ({ headers: { 'x-test-principal': JSON.stringify(caller) } });

  it('should send the headers on success and answer 429 with Retry-After past the limit', async () => {
    const started = await start([FakeAuthGuard, RateLimitGuard]);
    app = started.app;
    const caller = principal({ rpmLimit: 2, tpmLimit: 500 });
    for (const remaining of ['1', '0']) {
      const ok = await fetch(`${started.url}/limited`, as(caller));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-limit-requests')).toBe('2');
      expect(ok.headers.get('x-ratelimit-remaining-requests')).toBe(remaining);
      expect(ok.headers.get('x-ratelimit-reset-requests')).toMatch(DURATION);
      expect(ok.headers.get('x-ratelimit-limit-tokens')).toBe('500');
      expect(ok.headers.get('x-ratelimit-remaining-tokens')).toBe('500');
      expect(ok.headers.get('x-ratelimit-reset-tokens')).toBe('0s');
      await ok.arrayBuffer();
    }
    const refused = await fetch(`${started.url}/limited`, as(caller));
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(refused.headers.get('retry-after-ms'))).toBeLessThanOrEqual(60_000);
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-limit-tokens')).toBe('500');
    await expect(refused.json()).resolves.toEqual({
      error: {
        message: expect.stringContaining('requests per minute (RPM)') as unknown,
        type: 'rate_limit_error',
        param: null,
        code: 'rate_limit_exceeded',
      },
    });
  });

  it('should leave public and @SkipRateLimit routes unlimited and without headers', async () => {
    const started = await start([FakeAuthGuard, RateLimitGuard]);
    app = started.app;
    const caller = principal({ rpmLimit: 1 });
    for (let i = 0; i < 3; i++) {
      for (const route of ['open', 'skipped']) {
        const response = await fetch(`${started.url}/${route}`, as(caller));
        expect(response.status).toBe(200);
        expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
        await response.arrayBuffer();
      }
    }
  });

  it('should answer 500 rather than limit nothing when registered before the auth guard', async () => {
    const started = await start([RateLimitGuard, FakeAuthGuard]);
    app = started.app;
    const response = await fetch(`${started.url}/limited`, as(principal()));
    expect(response.status).toBe(500);
    await response.arrayBuffer();
  });
});
