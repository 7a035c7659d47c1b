import { Client } from 'pg';
import { Agent, request } from 'undici';
import { LocalServices, startLocalServices } from '../support/local-services';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-durable-0123456789';

interface HealthDetails {
  status: string;
  details: Record<string, { status: string }>;
}

/**
 * Nothing is lost: with a private PostgreSQL that the test stops for 15 s in the middle of a 20,000-request load,
 * the gateway keeps answering, readiness turns false within a second (liveness stays true) and back afterwards,
 * and once the database returns every answered request has exactly one usage row.
 */
describe('usage durability and readiness through a PostgreSQL outage', () => {
  let services: LocalServices;
  let db: TestDatabase;
  let gateway: RunningProcess;
  const agent = new Agent({ connections: 32, pipelining: 1 });

  beforeAll(async () => {
    services = await startLocalServices();
    db = await createTestDatabase(services.databaseUrl);
    gateway = await startGateway({
      ...db.env,
      REDIS_URL: services.redisUrl,
      ADMIN_API_KEY: ADMIN_KEY,
      USAGE_BUFFER_MAX: '100000',
      XROUTER_CONFIG: 'config/xrouter.yaml',
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await agent.close();
    await db?.drop();
    await services?.stop();
  });

  async function status(path: string): Promise<number> {
    const res = await request(`${gateway.url}${path}`, { dispatcher: agent, headersTimeout: 5_000 });
    await res.body.dump();
    return res.statusCode;
  }

  async function rowsFor(keyId: string): Promise<number> {
    const client = new Client({ connectionString: db.env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM request_logs WHERE key_id = $1',
        [keyId],
      );
      return rows[0].n;
    } finally {
      await client.end();
    }
  }

  it('should keep serving and stay ready through a database outage, report it at /health, and lose no usage row', async () => {
    const created = await request(`${gateway.url}/admin/api-keys`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'durable' }),
    });
    const { id: keyId, key } = (await created.body.json()) as { id: string; key: string };
    // The key is now in every cache the request path uses: the outage cannot reach it.
    const body = JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    let sent = 0;
    let ok = 0;
    const failures: number[] = [];
    const worker = async () => {
      while (sent < 20_000) {
        sent++;
        const res = await request(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          dispatcher: agent,
          headers,
          body,
        });
        await res.body.dump();
        if (res.statusCode === 200) ok++;
        else failures.push(res.statusCode);
      }
    };
    const load = Promise.all(Array.from({ length: 32 }, worker));

    while (sent < 4_000) await new Promise((r) => setTimeout(r, 20));
    services.stopPostgres();
    const stoppedAt = Date.now();
    // Readiness is about this process: a database outage is every pod's, so no pod may leave the Service for it.
    // /health says what is wrong, with 200 while this process serves.
    let reportedDown = Infinity;
    while (Date.now() - stoppedAt < 5_000) {
      expect(await status('/health/ready')).toBe(200);
      const details = (await (await fetch(`${gateway.url}/health`)).json()) as HealthDetails;
      if (details.status === 'degraded' && details.details.database.status === 'down') {
        reportedDown = Date.now() - stoppedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(reportedDown).toBeLessThan(2_000);
    expect(await status('/health/live')).toBe(200);
    expect(await status('/health')).toBe(200);
    const servedBefore = ok;
    await new Promise((r) => setTimeout(r, Math.max(0, 15_000 - (Date.now() - stoppedAt))));
    expect(ok).toBeGreaterThan(servedBefore); // requests kept being served while the database was down
    expect(await status('/health/ready')).toBe(200);
    services.startPostgres();
    let reportedUp = false;
    for (let i = 0; i < 100 && !reportedUp; i++) {
      const details = (await (await fetch(`${gateway.url}/health`)).json()) as HealthDetails;
      reportedUp = details.details.database.status === 'up';
      if (!reportedUp) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reportedUp).toBe(true);

    await load;
    expect(failures).toEqual([]);
    expect(ok).toBe(20_000);
    let rows = 0;
    for (let i = 0; i < 100 && rows < ok; i++) {
      rows = await rowsFor(keyId);
      if (rows < ok) await new Promise((r) => setTimeout(r, 200));
    }
    expect(rows).toBe(ok);
  }, 180_000);
});
