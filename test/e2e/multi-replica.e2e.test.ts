import OpenAI from 'openai';
import { Cluster, startCluster } from '../support/cluster';
import { LocalServices, startLocalServices } from '../support/local-services';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ADMIN_KEY = 'xr-e2e-admin-key-cluster-0123456789';

/**
 * Three replicas behind nginx sharing PostgreSQL and Redis: a private PostgreSQL and Redis started for this file
 * (replicas cannot share an embedded database, and one test stops PostgreSQL, which CI's own server must survive).
 */
describe('three replicas behind nginx (shared PostgreSQL and Redis)', () => {
  let services: LocalServices;
  let db: TestDatabase;
  let cluster: Cluster;

  beforeAll(async () => {
    services = await startLocalServices();
    db = await createTestDatabase(services.databaseUrl);
    const redisUrl = services.redisUrl;
    // The default 10 req/s per credential would refuse the load test's 16 workers: this file is about replicas.
    cluster = await startCluster({
      ...db.env,
      REDIS_URL: redisUrl,
      ADMIN_API_KEY: ADMIN_KEY,
      RATE_LIMIT_RPS: '1000',
      RATE_LIMIT_BURST: '1000',
    });
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    await db?.drop();
    await services?.stop();
  });

  async function admin(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${cluster.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(res.status).toBeLessThan(300);
    return (await res.json()) as Record<string, unknown>;
  }

  /** The replicas still running (a test stops one). */
  const live = () => cluster.replicas.filter((r) => r.child.exitCode === null && r.child.signalCode === null);

  const ask = (key: string, url: string, model = 'mws-gpt-alpha') =>
    fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('should refuse a key revoked through one replica on every replica within a second', async () => {
    const created = await admin('POST', '/admin/api-keys', { name: 'to revoke' });
    const key = created.key as string;
    for (const replica of cluster.replicas) expect((await ask(key, replica.url)).status).toBe(200);
    const revokedAt = Date.now();
    const res = await fetch(`${cluster.replicas[0].url}/admin/api-keys/${created.id as string}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(res.status).toBe(200);
    const refusedAt = await Promise.all(
      cluster.replicas.map(async (replica) => {
        while ((await ask(key, replica.url)).status !== 401) {
          if (Date.now() - revokedAt > 5_000) throw new Error(`${replica.url} still accepts the revoked key`);
          await new Promise((r) => setTimeout(r, 20));
        }
        return Date.now() - revokedAt;
      }),
    );
    expect(Math.max(...refusedAt)).toBeLessThan(1_000);
  });

  it('should hold a 60 RPM key to 60 successes whichever replica serves it', async () => {
    const created = await admin('POST', '/admin/api-keys', { name: 'sixty', rpm_limit: 60 });
    const key = created.key as string;
    const statuses: number[] = [];
    const until = Date.now() + 8_000;
    while (Date.now() < until) {
      // 10 at a time through nginx (round-robin over the three replicas), twice a second: 20/s offered.
      statuses.push(
        ...(await Promise.all(Array.from({ length: 10 }, () => ask(key, cluster.url).then((r) => r.status)))),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    const ok = statuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(58);
    expect(ok).toBeLessThanOrEqual(62);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
  }, 30_000);

  it('should keep every replica in the pool and every cached key served through a 15 s PostgreSQL outage', async () => {
    const { key } = (await admin('POST', '/admin/api-keys', { name: 'db-outage' })) as { key: string };
    // The key is cached on every replica before the outage (the database is only asked on a miss).
    for (const replica of live()) expect((await ask(key, replica.url)).status).toBe(200);
    services.stopPostgres();
    const statuses: number[] = [];
    const unready: string[] = [];
    try {
      const until = Date.now() + 15_000;
      const clients = Array.from({ length: 8 }, async () => {
        while (Date.now() < until) statuses.push((await ask(key, cluster.url)).status);
      });
      const probes = (async () => {
        while (Date.now() < until) {
          for (const replica of live()) {
            const ready = await fetch(`${replica.url}/health/ready`);
            if (ready.status !== 200) unready.push(`${replica.url}: ${ready.status}`);
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      await Promise.all([...clients, probes]);
      const health = (await (await fetch(`${live()[0].url}/health`)).json()) as {
        status: string;
        details: { database: { status: string } };
      };
      expect(health).toMatchObject({ status: 'degraded', details: { database: { status: 'down' } } });
    } finally {
      services.startPostgres();
    }
    expect(unready).toEqual([]);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 60_000);

  it('should lose no client request and no usage row when a replica is stopped under load', async () => {
    const created = await admin('POST', '/admin/api-keys', { name: 'load' });
    const client = new OpenAI({ apiKey: created.key as string, baseURL: `${cluster.url}/v1`, maxRetries: 0 });
    const statuses: number[] = [];
    const until = Date.now() + 4_000;
    const worker = async () => {
      while (Date.now() < until) {
        const { response } = await client.chat.completions
          .create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'load' }] })
          .withResponse()
          .catch((error: { status?: number }) => ({ response: { status: error.status ?? 0 } }));
        statuses.push(response.status);
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, worker));
    await new Promise((r) => setTimeout(r, 1_500));
    const exit = await cluster.replicas[1].stop('SIGTERM');
    await load;
    expect(exit).toBe(0);
    expect(statuses.length).toBeGreaterThan(100);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // The stopped replica flushed its buffer before exiting: one row per answered request, none missing.
    let rows = 0;
    for (let i = 0; i < 50 && rows < statuses.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const report = (await admin('GET', `/admin/usage?key_id=${created.id as string}`)) as unknown as Array<{
        requests: number;
      }>;
      rows = report.reduce((n, r) => n + r.requests, 0);
    }
    expect(rows).toBe(statuses.length);
  }, 30_000);

  // Last: it leaves the failing deployment's breaker open for its cooldown.
  it('should keep every replica ready and every other provider answering while one provider fails entirely', async () => {
    const { key } = (await admin('POST', '/admin/api-keys', { name: 'outage' })) as { key: string };
    const injected = await fetch(`${cluster.emulator.url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ provider: 'mts', fault: 'status=503', rate: 1 }),
    });
    expect(injected.status).toBe(201);
    const replicas = live();
    expect(replicas.length).toBeGreaterThanOrEqual(2);
    try {
      // Enough failures through each replica to open the (shared) breaker of the failing deployment.
      for (const replica of replicas) {
        for (let i = 0; i < 3; i++) expect((await ask(key, replica.url)).status).toBeGreaterThanOrEqual(500);
      }
      for (const replica of replicas) {
        expect((await fetch(`${replica.url}/health/ready`)).status).toBe(200);
        const health = (await (await fetch(`${replica.url}/health`)).json()) as {
          status: string;
          details: { providers: { unroutable: string[] } };
        };
        expect(health.status).toBe('degraded');
        expect(health.details.providers.unroutable).toEqual(['mws-gpt-alpha']);
        const other = await ask(key, replica.url, 't-pro');
        expect({ status: other.status, body: await other.text() }).toMatchObject({ status: 200 });
      }
      const throughNginx = await Promise.all(Array.from({ length: 30 }, () => ask(key, cluster.url, 't-pro')));
      expect(throughNginx.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    } finally {
      await fetch(`${cluster.emulator.url}/_emulator/faults`, { method: 'DELETE' });
    }
  });
});
