import { ConfigValidationError, validateEnvironment } from '@xrouter/config';
import { rateLimitConfig } from './rate-limit.config';

describe('rateLimitConfig', () => {
  const saved = { ...process.env };
  const names = [
    'RATE_LIMIT_RPS',
    'RATE_LIMIT_BURST',
    'RATE_LIMIT_DEFAULT_RPM',
    'RATE_LIMIT_DEFAULT_TPM',
    'RATE_LIMIT_FAIL_MODE',
    'RATE_LIMIT_PUBLIC_PER_MINUTE',
  ];

  beforeEach(() => {
    for (const name of names) delete process.env[name];
  });

  afterAll(() => {
    process.env = saved;
  });

  it('should default to 10 requests/s with a burst of 20, no RPM/TPM default, enforcing locally during a store outage', () => {
    expect(rateLimitConfig()).toEqual({
      perSecond: { ratePerSec: 10, burst: 20 },
      defaultRpm: null,
      defaultTpm: null,
      failMode: 'local',
      publicPerMinute: 300,
    });
  });

  it('should read every variable', () => {
    Object.assign(process.env, {
      RATE_LIMIT_RPS: '2.5',
      RATE_LIMIT_BURST: '5',
      RATE_LIMIT_DEFAULT_RPM: '60',
      RATE_LIMIT_DEFAULT_TPM: '100000',
      RATE_LIMIT_FAIL_MODE: 'closed',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '30',
    });
    expect(rateLimitConfig()).toEqual({
      perSecond: { ratePerSec: 2.5, burst: 5 },
      defaultRpm: 60,
      defaultTpm: 100_000,
      failMode: 'closed',
      publicPerMinute: 30,
    });
  });

  it('should switch the per-second limit off with RATE_LIMIT_RPS=0', () => {
    process.env.RATE_LIMIT_RPS = '0';
    expect(rateLimitConfig().perSecond).toBeNull();
  });

  it('should name every bad variable at once', () => {
    const env = {
      RATE_LIMIT_RPS: '-1',
      RATE_LIMIT_BURST: '0',
      RATE_LIMIT_DEFAULT_RPM: '1.5',
      RATE_LIMIT_FAIL_MODE: 'maybe',
    };
    expect(() => validateEnvironment([rateLimitConfig], env)).toThrow(ConfigValidationError);
    try {
      validateEnvironment([rateLimitConfig], env);
    } catch (error) {
      const { problems } = error as ConfigValidationError;
      for (const name of ['RATE_LIMIT_RPS', 'RATE_LIMIT_BURST', 'RATE_LIMIT_DEFAULT_RPM', 'RATE_LIMIT_FAIL_MODE']) {
        expect(problems.some((p) => p.startsWith(name))).toBe(true);
      }
    }
  });
});
