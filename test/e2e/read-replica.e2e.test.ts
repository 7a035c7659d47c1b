import OpenAI from 'openai';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import { toRequestLogRow, SqlRequestLogWriter, type UsageReportRow } from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-replica-0123456789';

/**
 * DATABASE_READ_URL: reports read the replica, requests are written to the primary. Two databases stand in for a
 * primary and its replica; a row only the "replica" holds shows in the report, a request's row lands on the primary.
 * On PostgreSQL; on the embedded database the variable is ignored (tested above).
 */
if (!process.env.DATABASE_URL) {
  describe('DATABASE_READ_URL on the embedded database', () => {
    it('should be ignored (PGlite has no replicas): the gateway starts and reports read the embedded database', async () => {
      const db = await createTestDatabase();
      const gateway = await startGateway({
        ...db.env,
        DATABASE_READ_URL: 'postgres://nobody@127.0.0.1:9/nowhere',
        ADMIN_API_KEY: ADMIN_KEY,
      });
      try {
        const res = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        expect(res.status).toBe(200);
      } finally {
        await gateway.stop();
        await db.drop();
      }
    }, 60_000);
  });
}

if (process.env.DATABASE_URL) {
  describe('usage reports from a read replica (DATABASE_READ_URL)', () => {
    let primary: TestDatabase;
    let replica: TestDatabase;
    let replicaSource: DataSource;
    let primarySource: DataSource;
    let gateway: RunningProcess;

    beforeAll(async () => {
      primary = await createTestDatabase();
      replica = await createTestDatabase();
      replicaSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(replica.env))).initialize();
      await runMigrations(replicaSource);
      await new SqlRequestLogWriter(replicaSource).write([
        toRequestLogRow({
          createdAt: new Date(),
          requestId: 'only-on-the-replica',
          keyId: null,
          userId: null,
          model: 'replica-model',
          provider: 'mts',
          account: 'main',
          upstreamModel: 'replica-model',
          status: 200,
          errorCode: null,
          attempts: 1,
          latencyMs: 5,
          ttftMs: null,
          promptTokens: 3,
          completionTokens: 4,
          costRub: '0.000000000',
          stream: false,
          endUser: null,
        }),
      ]);
      gateway = await startGateway({
        ...primary.env,
        DATABASE_READ_URL: replica.env.DATABASE_URL,
        ADMIN_API_KEY: ADMIN_KEY,
        USAGE_FLUSH_INTERVAL_MS: '100',
      });
      primarySource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(primary.env))).initialize();
    }, 60_000);

    afterAll(async () => {
      await gateway?.stop();
      await replicaSource?.destroy();
      await primarySource?.destroy();
      await primary?.drop();
      await replica?.drop();
    });

    it('should report what the replica holds and write requests to the primary', async () => {
      const client = new OpenAI({ apiKey: ADMIN_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });

      let written = 0;
      for (let i = 0; i < 50 && written === 0; i++) {
        const [row] = await primarySource.query<{ n: number }[]>(
          "SELECT count(*)::int AS n FROM request_logs WHERE model = 'mws-gpt-alpha'",
        );
        written = row.n;
        if (written === 0) await new Promise((done) => setTimeout(done, 100));
      }
      expect(written).toBe(1);

      const res = await fetch(`${gateway.url}/admin/usage?group_by=model`, {
        headers: { authorization: `Bearer ${ADMIN_KEY}` },
      });
      expect(res.status).toBe(200);
      const rows = (await res.json()) as UsageReportRow[];
      expect(rows).toEqual([expect.objectContaining({ group: 'replica-model', requests: 1 })]);
    });
  });
}
