import type { LimitCheckResult, LimitsResult } from '@xrouter/store';
import type { RateLimitSettings } from './rate-limit.config';
import {
  decide,
  effectiveLimits,
  limitPools,
  limitTag,
  planChecks,
  rateLimitKeys,
  type EffectiveLimits,
} from './rate-limit.policy';

const settings = (overrides: Partial<RateLimitSettings> = {}): RateLimitSettings => ({
  perSecond: { ratePerSec: 10, burst: 20 },
  defaultRpm: null,
  defaultTpm: null,
  failMode: 'local',
  ...overrides,
});

const state = (allowed: boolean, remaining: number, resetMs: number, retryAfterMs = 0): LimitCheckResult => ({
  allowed,
  remaining,
  resetMs,
  retryAfterMs,
});

describe('effectiveLimits', () => {
  it.each([
    ['the key own limits', { rpmLimit: 60, tpmLimit: 1_000 }, settings({ defaultRpm: 5, defaultTpm: 5 }), 60, 1_000],
    ['the defaults for a key without limits', { rpmLimit: null, tpmLimit: null }, settings({ defaultRpm: 5 }), 5, null],
    ['no RPM/TPM when neither is set', { rpmLimit: null, tpmLimit: null }, settings(), null, null],
    ['a zero limit as a limit', { rpmLimit: 0, tpmLimit: null }, settings({ defaultRpm: 5 }), 0, null],
  ])('should apply %s', (_title, principal, config, rpm, tpm) => {
    expect(effectiveLimits(principal, config)).toEqual({ rpm, tpm, perSecond: config.perSecond });
  });
});

describe('rateLimitKeys', () => {
  it('should put the credential id in one hash tag shared by the three keys', () => {
    expect(rateLimitKeys('key-1')).toEqual({ rpm: 'rl:{key-1}:rpm', burst: 'rl:{key-1}:burst', tpm: 'rl:{key-1}:tpm' });
  });

  it('should escape braces so an id cannot break its hash tag', () => {
    expect(rateLimitKeys('a}b{c').rpm).toBe('rl:{a%7Db%7Bc}:rpm');
  });
});

describe('planChecks', () => {
  it.each<[string, EffectiveLimits, string[]]>([
    ['nothing when no limit applies', { rpm: null, tpm: null, perSecond: null }, []],
    ['the bucket only by default', { rpm: null, tpm: null, perSecond: { ratePerSec: 10, burst: 20 } }, ['bucket']],
    [
      'window, bucket and cap in that order',
      { rpm: 60, tpm: 100, perSecond: { ratePerSec: 10, burst: 20 } },
      ['window', 'bucket', 'cap'],
    ],
    ['window and cap without the bucket', { rpm: 60, tpm: 100, perSecond: null }, ['window', 'cap']],
  ])('should plan %s', (_title, limits, types) => {
    expect(planChecks('k', limits).map((p) => p.check.type)).toEqual(types);
  });

  it('should plan a one-minute RPM window costing one request', () => {
    const [rpm] = planChecks('k', { rpm: 60, tpm: null, perSecond: null });
    expect(rpm).toEqual({
      name: 'rpm',
      check: { type: 'window', key: 'rl:{k}:rpm', cost: 1, limit: 60, windowMs: 60_000 },
    });
  });
});

describe('limit pools', () => {
  it('should tag every counter of a key tree with its root, and a root key as before', () => {
    expect(rateLimitKeys('child', 'root')).toEqual({
      rpm: 'rl:{root}:child:rpm',
      burst: 'rl:{root}:child:burst',
      tpm: 'rl:{root}:child:tpm',
    });
    expect(rateLimitKeys('root', 'root').rpm).toBe('rl:{root}:rpm');
  });

  it('should count a request against every issuing key with a limit, on the keys those keys use themselves', () => {
    const principal = {
      credentialId: 'grandchild',
      issuers: [
        { id: 'root', rpmLimit: 60, tpmLimit: null },
        { id: 'child', rpmLimit: null, tpmLimit: null },
      ],
    };
    const pools = limitPools(principal, { defaultRpm: null, defaultTpm: null });
    expect(pools).toEqual([{ id: 'root', rpm: 60, tpm: null }]);
    expect(limitPools(principal, { defaultRpm: null, defaultTpm: 500 })).toEqual([
      { id: 'root', rpm: 60, tpm: 500 },
      { id: 'child', rpm: null, tpm: 500 },
    ]);
    const planned = planChecks('grandchild', { rpm: 60, tpm: 100, perSecond: null }, pools, limitTag(principal));
    expect(planned.map((p) => [p.name, p.check.key])).toEqual([
      ['rpm', 'rl:{root}:grandchild:rpm'],
      ['tpm', 'rl:{root}:grandchild:tpm'],
      ['pool_rpm', 'rl:{root}:rpm'],
    ]);
  });

  it('should name the shared limit when it refuses', () => {
    const limits: EffectiveLimits = { rpm: 60, tpm: null, perSecond: null };
    const planned = planChecks('child', limits, [{ id: 'root', rpm: 5, tpm: null }], 'root');
    const decision = decide(planned, limits, { allowed: false, checks: [state(true, 50, 1), state(false, 0, 30_000)] });
    expect(decision).toMatchObject({
      allowed: false,
      refusedBy: 'pool_rpm',
      kind: 'requests',
      headers: { 'x-ratelimit-limit-requests': '5', 'x-ratelimit-remaining-requests': '0' },
    });
    expect(decision.allowed || decision.message).toContain('shared with the key root');
  });
});

describe('decide', () => {
  const all: EffectiveLimits = { rpm: 60, tpm: 1_000, perSecond: { ratePerSec: 10, burst: 20 } };
  const planned = planChecks('k', all);
  const result = (allowed: boolean, ...checks: LimitCheckResult[]): LimitsResult => ({ allowed, checks });

  it.each<[string, LimitsResult, Record<string, string>]>([
    [
      'the RPM window when it has fewer left than the bucket',
      result(true, state(true, 9, 59_200), state(true, 19, 100), state(true, 400, 30_000)),
      {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '9',
        'x-ratelimit-reset-requests': '59.2s',
        'x-ratelimit-limit-tokens': '1000',
        'x-ratelimit-remaining-tokens': '400',
        'x-ratelimit-reset-tokens': '30s',
      },
    ],
    [
      'the bucket when it binds',
      result(true, state(true, 50, 10_000), state(true, 3, 1_700), state(true, 1_000, 0)),
      {
        'x-ratelimit-limit-requests': '20',
        'x-ratelimit-remaining-requests': '3',
        'x-ratelimit-reset-requests': '1.7s',
        'x-ratelimit-limit-tokens': '1000',
        'x-ratelimit-remaining-tokens': '1000',
        'x-ratelimit-reset-tokens': '0s',
      },
    ],
    [
      'the RPM window on a tie',
      result(true, state(true, 5, 30_000), state(true, 5, 1_500), state(true, 10, 10)),
      {
        'x-ratelimit-limit-requests': '60',
        'x-ratelimit-remaining-requests': '5',
        'x-ratelimit-reset-requests': '30s',
        'x-ratelimit-limit-tokens': '1000',
        'x-ratelimit-remaining-tokens': '10',
        'x-ratelimit-reset-tokens': '10ms',
      },
    ],
  ])('should allow and report %s', (_title, outcome, headers) => {
    expect(decide(planned, all, outcome)).toEqual({ allowed: true, headers });
  });

  it('should send no -tokens headers when no token limit applies', () => {
    const limits: EffectiveLimits = { rpm: null, tpm: null, perSecond: { ratePerSec: 10, burst: 20 } };
    const decision = decide(planChecks('k', limits), limits, result(true, state(true, 19, 100)));
    expect(decision.headers).toEqual({
      'x-ratelimit-limit-requests': '20',
      'x-ratelimit-remaining-requests': '19',
      'x-ratelimit-reset-requests': '100ms',
    });
  });

  it.each<[string, LimitsResult, string, 'requests' | 'tokens', number, string, string]>([
    [
      'the RPM window',
      result(false, state(false, 0, 42_000, 42_000), state(true, 19, 0), state(true, 1_000, 0)),
      'rpm',
      'requests',
      42_000,
      'Rate limit reached for requests per minute (RPM) on this key: limit 60. Please try again in 42s.',
      '0',
    ],
    [
      'the per-second bucket',
      result(false, state(true, 40, 20_000), state(false, 0, 2_000, 100), state(true, 1_000, 0)),
      'burst',
      'requests',
      100,
      'Rate limit reached for requests per second on this key: 10/s with bursts of 20. Please try again in 100ms.',
      '0',
    ],
    [
      'the TPM cap',
      result(false, state(true, 40, 20_000), state(true, 19, 100), state(false, 0, 30_500, 30_500)),
      'tpm',
      'tokens',
      30_500,
      'Rate limit reached for tokens per minute (TPM) on this key: limit 1000. Please try again in 30.5s.',
      '19',
    ],
    [
      'the limit with the longest wait when two refuse',
      result(false, state(false, 0, 50_000, 50_000), state(false, 0, 2_000, 100), state(true, 10, 0)),
      'rpm',
      'requests',
      50_000,
      'Rate limit reached for requests per minute (RPM) on this key: limit 60. Please try again in 50s.',
      '0',
    ],
  ])('should refuse with %s', (_title, outcome, refusedBy, kind, retryAfterMs, message, remainingRequests) => {
    const decision = decide(planned, all, outcome);
    expect(decision).toMatchObject({ allowed: false, refusedBy, kind, retryAfterMs, message });
    expect(decision.headers['x-ratelimit-remaining-requests']).toBe(remainingRequests);
    expect(decision.headers['retry-after-ms']).toBe(String(retryAfterMs));
  });

  it('should report the tokens trio on a TPM refusal', () => {
    const decision = decide(
      planned,
      all,
      result(false, state(true, 40, 20_000), state(true, 19, 100), state(false, 0, 30_500, 30_500)),
    );
    expect(decision.headers).toMatchObject({
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '30.5s',
    });
  });
});
