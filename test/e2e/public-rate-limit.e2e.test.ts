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

  const guess = () =>
    fetch(`${gateway.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
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
});
