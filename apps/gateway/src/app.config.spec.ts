import { appConfig, trustProxySetting } from './app.config';
import { validateEnvironment } from '@xrouter/config';

describe('trustProxySetting', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['true', true],
    ['false', false],
    ['2', 2],
    ['loopback', 'loopback'],
    ['10.0.0.0/8, 127.0.0.1', '10.0.0.0/8, 127.0.0.1'],
  ])('%p → %p', (value, expected) => expect(trustProxySetting(value)).toBe(expected));

  it('should refuse a value express could not read, naming the variable', () => {
    expect(() => validateEnvironment([appConfig], { TRUST_PROXY: 'yes please!' })).toThrow(/TRUST_PROXY/);
  });
});

/** The config as `env` alone gives it. */
const configFor = (env: Record<string, string>) => {
  const saved = process.env;
  process.env = env;
  try {
    return appConfig();
  } finally {
    process.env = saved;
  }
};

describe('shutdown', () => {
  it('should accept no new connection after SIGTERM and give in-flight requests 30 s by default', () => {
    expect(configFor({}).shutdown).toEqual({ delayMs: 0, graceMs: 30_000 });
  });

  it('should read the variables', () => {
    expect(configFor({ SHUTDOWN_DELAY_MS: '10000', SHUTDOWN_GRACE_MS: '300000' }).shutdown).toEqual({
      delayMs: 10_000,
      graceMs: 300_000,
    });
  });

  it.each([
    [{ SHUTDOWN_DELAY_MS: '-1' }, /SHUTDOWN_DELAY_MS/],
    [{ SHUTDOWN_DELAY_MS: '1.5s' }, /SHUTDOWN_DELAY_MS/],
    [{ SHUTDOWN_GRACE_MS: 'long' }, /SHUTDOWN_GRACE_MS/],
  ])('should refuse %j', (env, message) => {
    expect(() => validateEnvironment([appConfig], env)).toThrow(message);
  });
});

describe('HTTP timeouts', () => {
  const http = (env: Record<string, string>) => configFor(env).http;

  it('should default to 10 s for headers, 30 s for the whole request and 5 s of keep-alive', () => {
    expect(http({})).toEqual({ headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000 });
  });

  it('should read the variables', () => {
    expect(
      http({ HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_KEEP_ALIVE_TIMEOUT_MS: '300' }),
    ).toEqual({ headersTimeoutMs: 500, requestTimeoutMs: 1000, keepAliveTimeoutMs: 300 });
  });

  it.each([
    [{ HTTP_HEADERS_TIMEOUT_MS: '0' }, /HTTP_HEADERS_TIMEOUT_MS/],
    [{ HTTP_REQUEST_TIMEOUT_MS: 'soon' }, /HTTP_REQUEST_TIMEOUT_MS/],
    [{ HTTP_KEEP_ALIVE_TIMEOUT_MS: '-1' }, /HTTP_KEEP_ALIVE_TIMEOUT_MS/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '40000' }, /must not exceed HTTP_REQUEST_TIMEOUT_MS/],
    [{ HTTP_HEADERS_TIMEOUT_MS: '2000', HTTP_REQUEST_TIMEOUT_MS: '1000' }, /must not exceed/],
  ])('should refuse %j', (env, message) => {
    expect(() => validateEnvironment([appConfig], env)).toThrow(message);
  });
});
