import { ConfigValidationError, validateEnvironment } from '@xrouter/config';
import { usageConfig, USAGE_DEFAULTS } from './usage.config';

describe('usageConfig', () => {
  const withEnv = (env: Record<string, string>, read: () => unknown) => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return read();
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  };

  it('should default every variable', () => {
    expect(withEnv({}, () => usageConfig())).toEqual(USAGE_DEFAULTS);
  });

  it('should read the variables as numbers', () => {
    expect(
      withEnv({ USAGE_BATCH_SIZE: '1000', USAGE_RETENTION_DAYS: '30', USAGE_PARTITIONS_AHEAD_DAYS: '3' }, () =>
        usageConfig(),
      ),
    ).toMatchObject({ batchSize: 1000, retentionDays: 30, partitionsAheadDays: 3 });
  });

  it('should name every bad variable at once', () => {
    expect(() =>
      validateEnvironment([usageConfig], {
        USAGE_BATCH_SIZE: '0',
        USAGE_FLUSH_INTERVAL_MS: 'soon',
        USAGE_RETENTION_DAYS: '-1',
      }),
    ).toThrow(/USAGE_BATCH_SIZE[\s\S]*USAGE_FLUSH_INTERVAL_MS[\s\S]*USAGE_RETENTION_DAYS/);
  });

  it('should refuse a buffer smaller than one batch', () => {
    expect(() => validateEnvironment([usageConfig], { USAGE_BATCH_SIZE: '1000', USAGE_BUFFER_MAX: '999' })).toThrow(
      ConfigValidationError,
    );
    expect(() => validateEnvironment([usageConfig], { USAGE_BUFFER_MAX: '499' })).toThrow(/at least USAGE_BATCH_SIZE/);
    expect(() => validateEnvironment([usageConfig], { USAGE_BUFFER_MAX: '500' })).not.toThrow();
  });
});
