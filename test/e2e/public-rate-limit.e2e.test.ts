import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

/** Public endpoints that take secrets are limited per client IP (throttler, counters in the shared store). */
describe('per-IP limit on the OAuth endpoints', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: 'xr-e2e-admin-key-throttle-0123456',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '5',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  const guess = (url = gateway.url, forwardedFor?: string) =>
    fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'guess',
        client_id: 'nobody',
        code_verifier: 'x'.repeat(43),
        redirect_uri: 'http://127.0.0.1/cb',
      }),
    });

  it('should answer 429 slow_down with Retry-After once an address passes the limit, and leave health alone', async () => {
    for (let i = 0; i < 5; i++) expect((await guess()).status).not.toBe(429);
    const limited = await guess();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ error: 'slow_down' });
    expect((await fetch(`${gateway.url}/health/live`)).status).toBe(200);
  });

  it('should not let a client dodge the limit with X-Forwarded-For when no proxy is trusted', async () => {
    expect((await guess(gateway.url, '203.0.113.7')).status).toBe(429);
  });

  it('should count each client behind a trusted proxy apart (TRUST_PROXY)', async () => {
    const behindProxy = await startGateway({
      ...db.env,
      ADMIN_API_KEY: 'xr-e2e-admin-key-throttle-0123456',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '5',
      TRUST_PROXY: 'loopback',
    });
    try {
      for (let i = 0; i < 5; i++) expect((await guess(behindProxy.url, '203.0.113.1')).status).not.toBe(429);
      expect((await guess(behindProxy.url, '203.0.113.1')).status).toBe(429);
      expect((await guess(behindProxy.url, '203.0.113.2')).status).not.toBe(429);
    } finally {
      await behindProxy.stop();
    }
  }, 60_000);
});
