import { Agent, request } from 'undici';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-usage-load-012345';

/**
 * Exactly one usage row per request under load, on whichever database this run uses (PostgreSQL in CI's first
 * run, embedded PGlite in the second), and none lost when the gateway is stopped with SIGTERM mid-load.
 */
describe(`usage rows under load (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  const agent = new Agent({ connections: 32 });
  const env = () => ({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, USAGE_FLUSH_INTERVAL_MS: '200' });

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway(env());
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await agent.close();
    await db?.drop();
  });

  async function newKey(): Promise<{ id: string; key: string }> {
    const res = await request(`${gateway.url}/admin/api-keys`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'load' }),
    });
    return (await res.body.json()) as { id: string; key: string };
  }

  /** The rows the database holds for a key, counted by SQL (the report's COUNT), once the buffer has drained. */
  async function rows(keyId: string, expected: number): Promise<number> {
    let count = -1;
    for (let i = 0; i < 100 && count !== expected; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 100));
      const res = await request(`${gateway.url}/admin/usage?key_id=${keyId}`, {
        dispatcher: agent,
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      const report = (await res.body.json()) as Array<{ requests: number }>;
      count = report.reduce((n, r) => n + r.requests, 0);
    }
    return count;
  }

  function load(key: string, total: number, onStatus: (status: number) => void): Promise<void> {
    let sent = 0;
    const body = JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });
    const worker = async () => {
      while (sent < total) {
        sent++;
        try {
          const res = await request(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            dispatcher: agent,
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body,
          });
          await res.body.dump();
          onStatus(res.statusCode);
        } catch {
          onStatus(0); // connection refused or reset: the gateway is gone
          return;
        }
      }
    };
    return Promise.all(Array.from({ length: 32 }, worker)).then(() => undefined);
  }

  it('should write exactly one row for each of 20,000 requests', async () => {
    const { id, key } = await newKey();
    let ok = 0;
    await load(key, 20_000, (status) => {
      if (status === 200) ok++;
    });
    expect(ok).toBe(20_000);
    expect(await rows(id, 20_000)).toBe(20_000);
  }, 180_000);

  it('should keep every row of the answered requests when stopped with SIGTERM mid-load', async () => {
    const { id, key } = await newKey();
    let ok = 0;
    const running = load(key, 1_000_000, (status) => {
      if (status === 200) ok++;
    });
    while (ok < 2_000) await new Promise((r) => setTimeout(r, 20));
    const exit = await gateway.stop('SIGTERM');
    await running;
    expect(exit).toBe(0);
    gateway = await startGateway(env());
    expect(await rows(id, ok)).toBe(ok);
  }, 180_000);
});
