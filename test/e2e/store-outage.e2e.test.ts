import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv } from '@xrouter/database';
import { callApi } from '../support/api';
import { freePort, RunningProcess, startGateway } from '../support/processes';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ADMIN_KEY = 'xr-e2e-store-outage-admin-key-0123456789';
const RPM = 20;
const SHARE = 1;
const WORKERS = 4;

/** The fields these tests read from the gateway's answers. */
interface Json {
  id: string;
  disabled: boolean;
  key: string;
  revoked_at: string | null;
  usage: { total_tokens: number };
  error: { code: string };
}

/** A Redis of the test's own, on a fixed port, that can be killed with SIGKILL and started again empty. */
class KillableRedis {
  private process: ChildProcess | null = null;
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.process && this.process.exitCode === null && this.process.signalCode === null) return;
    this.process = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((done) => {
        const socket = createConnection(this.port, '127.0.0.1', () => done(socket.end() && true));
        socket.once('error', () => done(false));
      });
      if (up) return;
      if (i > 100) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }
}

/**
 * Redis killed with SIGKILL under load and restarted empty: limits degrade to each replica's local share instead of
 * switching off, budgets are re-seeded from request_logs instead of starting again from zero, and key changes that
 * must reach every replica answer 503 before anything is written, never 500 with a lost secret.
 */
describe('store outage: Redis killed mid-load and restarted empty', () => {
  let db: TestDatabase;
  let redis: KillableRedis;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    redis = new KillableRedis(await freePort());
    await redis.start();
    gateway = await startGateway({
      ...db.env,
      REDIS_URL: redis.url,
      ADMIN_API_KEY: ADMIN_KEY,
      STORE_OUTAGE_LIMIT_SHARE: String(SHARE),
      USAGE_FLUSH_INTERVAL_MS: '100',
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await redis?.kill();
    await db?.drop();
  });

  const call = (key: string, method: string, path: string, body?: unknown) =>
    callApi<Json>(gateway.url, key, method, path, body);

  const chat = (key: string) =>
    call(key, 'POST', '/v1/chat/completions', { model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });

  /** Requests from WORKERS concurrent clients for `ms`; the statuses seen, in order. */
  async function load(key: string, ms: number): Promise<number[]> {
    const statuses: number[] = [];
    const until = Date.now() + ms;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (Date.now() < until) {
          statuses.push((await chat(key)).status);
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    return statuses;
  }

  const served = (statuses: number[]) => statuses.filter((s) => s === 200).length;

  async function recordedTokens(keyId: string): Promise<number> {
    const source = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    try {
      const [row] = await source.query<Array<{ tokens: string }>>(
        `SELECT COALESCE(sum(prompt_tokens + completion_tokens), 0)::text AS tokens FROM request_logs
          WHERE key_id = $1 AND status = 200`,
        [keyId],
      );
      return Number(row.tokens);
    } finally {
      await source.destroy();
    }
  }

  it('should hold per-key limits and budgets through the outage and after an empty restart, with no 500', async () => {
    const { json: user } = await call(ADMIN_KEY, 'POST', '/admin/users', { email: 'load@example.com', role: 'user' });
    const limited = (
      await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'rpm', user_id: user.id, rpm_limit: RPM })
    ).json;
    const budgeted = (await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'budget', user_id: user.id })).json;
    const first = await chat(budgeted.key);
    expect(first.status).toBe(200);
    const perCall = first.json.usage.total_tokens;
    const budget = perCall * 12;
    expect(
      (await call(ADMIN_KEY, 'PUT', `/admin/api-keys/${budgeted.id}/budget`, { monthly_token_budget: budget })).status,
    ).toBe(200);

    const before = await Promise.all([load(limited.key, 1_500), load(budgeted.key, 400)]);
    await redis.kill();
    const during = await Promise.all([load(limited.key, 3_000), load(budgeted.key, 3_000)]);
    await redis.start();
    await new Promise((r) => setTimeout(r, 1_000)); // reconnect, and the last rows flushed
    const after = await Promise.all([load(limited.key, 2_000), load(budgeted.key, 2_000)]);

    for (const statuses of [...before, ...during, ...after]) {
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    }
    // The RPM window: the store's before the outage, this replica's share alone during it, a fresh store window after.
    expect(served(before[0])).toBeLessThanOrEqual(RPM);
    expect(served(during[0])).toBeGreaterThan(0);
    expect(served(during[0])).toBeLessThanOrEqual(Math.floor(RPM * SHARE));
    expect(served(after[0])).toBeLessThanOrEqual(RPM);
    // The budget: never served again from a counter that started over; what was recorded stays within the budget
    // plus what the concurrent clients had in flight when it ran out.
    expect(served(after[1])).toBe(0);
    expect(await recordedTokens(budgeted.id)).toBeLessThanOrEqual(budget + WORKERS * perCall);
  }, 60_000);

  it('should answer key changes during the outage with a working key or a 503 that changed nothing', async () => {
    const { json: user } = await call(ADMIN_KEY, 'POST', '/admin/users', { email: 'keys@example.com', role: 'user' });
    await redis.kill();
    try {
      const created = await call(ADMIN_KEY, 'POST', '/admin/api-keys', { name: 'made during', user_id: user.id });
      expect(created.status).toBe(201);
      expect((await chat(created.json.key)).status).toBe(200);
      const revoke = await call(ADMIN_KEY, 'DELETE', `/admin/api-keys/${created.json.id}`);
      expect(revoke.status).toBe(503);
      expect(revoke.json.error.code).toBe('service_unavailable');
      expect((await call(ADMIN_KEY, 'GET', `/admin/api-keys/${created.json.id}`)).json.revoked_at).toBeNull();
      expect((await chat(created.json.key)).status).toBe(200);
      const disable = await call(ADMIN_KEY, 'POST', `/admin/users/${user.id}/disable`);
      expect(disable.status).toBe(503);
      expect((await call(ADMIN_KEY, 'GET', `/admin/users/${user.id}`)).json).toMatchObject({ disabled: false });

      await redis.start();
      await new Promise((r) => setTimeout(r, 1_000));
      expect((await call(ADMIN_KEY, 'DELETE', `/admin/api-keys/${created.json.id}`)).status).toBe(200);
      expect((await chat(created.json.key)).status).toBe(401);
    } finally {
      await redis.start();
    }
  }, 60_000);
});
