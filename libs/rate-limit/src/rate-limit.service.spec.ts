import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { Principal } from '@xrouter/auth';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import {
  MemoryStore,
  StoreUnavailableError,
  type CounterResult,
  type LimitCheck,
  type LimitsResult,
  LocalLimits,
} from '@xrouter/store';
import type { RateLimitFailMode, RateLimitSettings } from './rate-limit.config';
import { limitPlan, RateLimitService } from './rate-limit.service';

/** The in-process store, with a switch that makes every call fail like an unreachable Redis. */
class SwitchableStore extends MemoryStore {
  down = false;

  override consumeLimits(checks: readonly LimitCheck[]): Promise<LimitsResult> {
    return this.down
      ? Promise.reject(new StoreUnavailableError('consumeLimits', new Error('ECONNREFUSED')))
      : super.consumeLimits(checks);
  }

  override increment(key: string, by: number, ttlMs: number): Promise<CounterResult> {
    return this.down
      ? Promise.reject(new StoreUnavailableError('increment', new Error('ECONNREFUSED')))
      : super.increment(key, by, ttlMs);
  }
}

const principal = (overrides: Partial<Principal> = {}): Principal => ({
  kind: 'api_key',
  credentialId: 'key-1',
  userId: 'user-1',
  scopes: ['chat'],
  allowedModels: null,
  rpmLimit: 2,
  tpmLimit: 100,
  expiresAt: null,
  budgets: [],
  issuers: [],
  ...overrides,
});

describe('RateLimitService', () => {
  let store: SwitchableStore;
  let metrics: XRouterMetrics;
  let warn: jest.SpyInstance;
  let log: jest.SpyInstance;

  const locals: LocalLimits[] = [];
  const service = (
    failMode: RateLimitFailMode = 'local',
    overrides: Partial<RateLimitSettings> = {},
    share = 1,
  ): RateLimitService => {
    const local = new LocalLimits(share);
    locals.push(local);
    return new RateLimitService(
      store,
      { perSecond: null, defaultRpm: null, defaultTpm: null, failMode, ...overrides },
      metrics,
      local,
    );
  };

  const counted = async (counter: 'storeErrors' | 'rateLimitRejections'): Promise<Record<string, number>> =>
    Object.fromEntries((await metrics[counter].get()).values.map((v) => [String(Object.values(v.labels)[0]), v.value]));

  beforeEach(() => {
    store = new SwitchableStore();
    metrics = new XRouterMetrics(new Registry());
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });

  afterEach(async () => {
    warn.mockRestore();
    log.mockRestore();
    await store.close();
    await Promise.all(locals.splice(0).map((local) => local.close()));
  });

  it('should refuse the request past the RPM limit with 429, Retry-After and the headers', async () => {
    const limiter = service();
    await expect(limiter.check(principal())).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '1' });
    await expect(limiter.check(principal())).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '0' });
    const error = await limiter.check(principal()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    const refusal = error as GatewayError;
    expect(refusal.code).toBe(ErrorCode.RATE_LIMITED);
    expect(refusal.status).toBe(429);
    expect(refusal.retryAfterMs).toBeGreaterThan(59_000);
    expect(refusal.headers).toMatchObject({ 'x-ratelimit-limit-requests': '2', 'x-ratelimit-remaining-requests': '0' });
    await expect(counted('rateLimitRejections')).resolves.toEqual({ requests: 1 });
  });

  it('should plan a principal once and ask the store with the same frozen checks on every request', async () => {
    const consume = jest.spyOn(store, 'consumeLimits');
    const limiter = service('local', { perSecond: { ratePerSec: 1_000, burst: 1_000 } });
    const caller = principal({ rpmLimit: 10 });
    await limiter.check(caller);
    await limiter.check(caller);
    const [[first], [second]] = consume.mock.calls;
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(first.every((check) => Object.isFrozen(check))).toBe(true);
    expect(first.map((check) => check.key)).toEqual(['rl:{key-1}:rpm', 'rl:{key-1}:burst', 'rl:{key-1}:tpm']);
    // A changed key comes back from the credential cache as a new principal: planned afresh (its new limit of 1
    // is already used up by the two requests above).
    await expect(limiter.check(principal({ rpmLimit: 1 }))).rejects.toMatchObject({
      code: ErrorCode.RATE_LIMITED,
      headers: expect.objectContaining({ 'x-ratelimit-limit-requests': '1' }) as unknown,
    });
    expect(consume.mock.calls[2][0]).not.toBe(first);
  });

  it('should plan as the policy does, pools and their TPM keys included', () => {
    const settings = { defaultRpm: null, defaultTpm: 500, perSecond: null } as unknown as RateLimitSettings;
    const plan = limitPlan(
      principal({ credentialId: 'child', issuers: [{ id: 'root', rpmLimit: 7, tpmLimit: null }] as never }),
      settings,
    );
    expect(plan.planned.map((p) => p.name)).toEqual(['rpm', 'tpm', 'pool_rpm', 'pool_tpm']);
    expect(plan.checks).toEqual(plan.planned.map((p) => p.check));
    expect(plan.tpmKeys).toEqual(['rl:{root}:tpm', 'rl:{root}:child:tpm']);
  });

  it('should send no headers and call no store when no limit applies', async () => {
    const consume = jest.spyOn(store, 'consumeLimits');
    await expect(service().check(principal({ rpmLimit: null, tpmLimit: null }))).resolves.toEqual({});
    expect(consume).not.toHaveBeenCalled();
  });

  it('should refuse once the charged tokens reached the TPM limit', async () => {
    const limiter = service('local', { perSecond: { ratePerSec: 1_000, burst: 1_000 } });
    const caller = principal({ rpmLimit: null });
    await limiter.charge(caller, 99);
    await expect(limiter.check(caller)).resolves.toMatchObject({ 'x-ratelimit-remaining-tokens': '1' });
    await limiter.charge(caller, 1);
    await expect(limiter.check(caller)).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
    await expect(counted('rateLimitRejections')).resolves.toEqual({ tokens: 1 });
  });

  it('should write many charges of one key as one store call, and keys apart', async () => {
    const increment = jest.spyOn(store, 'increment');
    const limiter = service('local');
    const charged = [];
    for (let i = 0; i < 50; i++) charged.push(limiter.charge(principal(), 2));
    charged.push(limiter.charge(principal({ credentialId: 'key-2' }), 7));
    await Promise.all(charged);
    expect(increment.mock.calls.map(([key, tokens]) => [key, tokens]).sort()).toEqual([
      ['rl:{key-1}:tpm', 100],
      ['rl:{key-2}:tpm', 7],
    ]);
    await limiter.charge(principal(), 1);
    expect(increment).toHaveBeenCalledTimes(3);
    await expect(store.get('rl:{key-1}:tpm')).resolves.toBe('101');
  });

  it('should not charge tokens when no TPM limit applies, nor a non-positive count', async () => {
    const increment = jest.spyOn(store, 'increment');
    await service().charge(principal({ tpmLimit: null }), 500);
    await service().charge(principal(), 0);
    await service().charge(principal(), Number.NaN);
    expect(increment).not.toHaveBeenCalled();
  });

  it('should enforce the limits on this replica alone while the store is down in local mode, logging once', async () => {
    const limiter = service('local');
    store.down = true;
    await expect(limiter.check(principal())).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '1' });
    await expect(limiter.check(principal())).resolves.toMatchObject({ 'x-ratelimit-remaining-requests': '0' });
    await expect(limiter.check(principal())).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED, status: 429 });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain('enforces the whole limit alone');
    await expect(counted('storeErrors')).resolves.toEqual({ rate_limit: 3 });
  });

  it('should cut each limit to the configured share during an outage, tokens included', async () => {
    const limiter = service('local', {}, 0.5);
    store.down = true;
    const caller = principal({ rpmLimit: 10, tpmLimit: 100 });
    for (let i = 0; i < 5; i++) await limiter.check(caller);
    await expect(limiter.check(caller)).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
    const tokens = principal({ credentialId: 'key-2', rpmLimit: null, tpmLimit: 100 });
    await limiter.charge(tokens, 50);
    await expect(limiter.check(tokens)).rejects.toMatchObject({ code: ErrorCode.RATE_LIMITED });
  });

  it('should refuse with 503 while the store is down in closed mode, logging once', async () => {
    const limiter = service('closed');
    store.down = true;
    for (let i = 0; i < 3; i++) {
      await expect(limiter.check(principal())).rejects.toMatchObject({
        code: ErrorCode.SERVICE_UNAVAILABLE,
        status: 503,
        retryAfterMs: 1_000,
      });
    }
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toContain('refused with 503');
    await expect(counted('storeErrors')).resolves.toEqual({ rate_limit: 3 });
  });

  it('should log once when the store answers again, and once more on the next outage', async () => {
    const limiter = service('local');
    store.down = true;
    await limiter.check(principal());
    store.down = false;
    await limiter.check(principal());
    await limiter.check(principal({ credentialId: 'key-2' }));
    store.down = true;
    await limiter.check(principal());
    expect(warn).toHaveBeenCalledTimes(2);
    expect(log).toHaveBeenCalledTimes(1);
    expect(String(log.mock.calls[0][0])).toContain('answers again');
  });

  it('should propagate errors that are not store outages (bugs are not limits)', async () => {
    jest.spyOn(store, 'consumeLimits').mockRejectedValueOnce(new TypeError('bad keys'));
    await expect(service('local').check(principal())).rejects.toThrow(TypeError);
  });
  it('should finish pending charges before shutdown', async () => {
    const limiter = service('local', { perSecond: { ratePerSec: 1_000, burst: 1_000 } });
    const caller = principal({ rpmLimit: null });
    void limiter.charge(caller, 100);
    await limiter.onApplicationShutdown();
    await expect(store.get('rl:{key-1}:tpm')).resolves.toBe('100');
  });
});
