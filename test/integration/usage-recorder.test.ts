import 'reflect-metadata';
import { StoreModule } from '@xrouter/store';
import { ConfigModule } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import {
  buildDataSourceOptions,
  databaseConfig,
  DatabaseModule,
  databaseSettingsFromEnv,
  runMigrations,
} from '@xrouter/database';
import {
  costRub,
  PartitionMaintenanceService,
  partitionName,
  SqlRequestLogWriter,
  USAGE_DEFAULTS,
  usageConfig,
  UsageModule,
  UsageRecorder,
  type RequestLogEntry,
  type RequestLogRow,
  type RequestLogWriter,
  type UsageSettings,
} from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';
const DAY = 86_400_000;

function entry(requestId: string, createdAt = new Date(), overrides: Partial<RequestLogEntry> = {}): RequestLogEntry {
  return {
    createdAt,
    requestId,
    keyId: '7f0c5a7e-1111-4222-8333-444455556666',
    userId: null,
    model: 'GigaChat',
    provider: 'gigachat',
    account: 'main',
    upstreamModel: 'GigaChat-2-Pro',
    status: 200,
    errorCode: null,
    attempts: 1,
    latencyMs: 250,
    ttftMs: null,
    promptTokens: 100,
    completionTokens: 50,
    costRub: costRub(100, 50, { prompt_per_1k: 1.5, completion_per_1k: 1.5 }),
    stream: false,
    endUser: null,
    ...overrides,
  };
}

function settings(overrides: Partial<UsageSettings> = {}): UsageSettings {
  return { ...USAGE_DEFAULTS, ...overrides };
}

async function until(check: () => Promise<boolean> | boolean, withinMs = 20_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe(`usage recorder on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let maintenance: PartitionMaintenanceService;
  const recorders: UsageRecorder[] = [];

  function recorder(writer: RequestLogWriter, overrides: Partial<UsageSettings> = {}): UsageRecorder {
    const created = new UsageRecorder(writer, settings(overrides));
    recorders.push(created);
    return created;
  }

  async function count(where = 'true', params: unknown[] = []): Promise<number> {
    const [row] = await dataSource.query<Array<{ n: string }>>(
      `SELECT count(*)::text AS n FROM request_logs WHERE ${where}`,
      params,
    );
    return Number(row.n);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    await runMigrations(dataSource);
    maintenance = new PartitionMaintenanceService(dataSource, settings());
    await maintenance.maintain();
  });

  afterEach(async () => {
    await Promise.all(recorders.splice(0).map((r) => r.beforeApplicationShutdown()));
    await dataSource.query('TRUNCATE request_logs');
  });

  afterAll(async () => {
    await maintenance?.beforeApplicationShutdown();
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should write 20,000 recorded rows exactly once each', async () => {
    const usage = recorder(new SqlRequestLogWriter(dataSource));
    for (let i = 0; i < 20_000; i++) usage.record(entry(`bulk-${i}`));
    // record() only queues: not one row was written while the loop ran (speed is measured in bench/, not here).
    expect(usage.stats().written).toBe(0);
    await usage.flush();
    expect(await count()).toBe(20_000);
    const [row] = await dataSource.query<Array<{ n: string }>>(
      `SELECT count(DISTINCT request_id)::text AS n FROM request_logs WHERE request_id LIKE 'bulk-%'`,
    );
    expect(Number(row.n)).toBe(20_000);
    expect(usage.stats()).toMatchObject({ buffered: 0, written: 20_000, dropped: 0, failures: 0 });
  });

  it('should keep every value exactly as recorded, quotes, braces and Unicode included', async () => {
    const usage = recorder(new SqlRequestLogWriter(dataSource));
    const tricky = entry('req-"quoted",{braced}\\back', new Date('2024-11-24T12:34:56.789Z'), {
      keyId: null,
      userId: '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f',
      model: 'ГигаЧат "Про", {v2} \\ NULL',
      provider: null,
      account: 'NULL',
      upstreamModel: '',
      status: 502,
      errorCode: 'upstream_error',
      attempts: 3,
      latencyMs: 2_147_483_647,
      ttftMs: 0,
      promptTokens: 0,
      completionTokens: 7,
      costRub: '12345678901.123456789',
      stream: true,
    });
    usage.record(tricky);
    await usage.flush();
    const [row] = await dataSource.query<Array<Record<string, unknown>>>(
      `SELECT created_at, request_id, key_id, user_id, model, provider, account, upstream_model, status, error_code,
              attempts, latency_ms, ttft_ms, prompt_tokens, completion_tokens, total_tokens, cost_rub::text AS cost_rub,
              stream
       FROM request_logs`,
    );
    expect(row).toEqual({
      created_at: tricky.createdAt,
      request_id: tricky.requestId,
      key_id: null,
      user_id: tricky.userId,
      model: tricky.model,
      provider: null,
      account: 'NULL',
      upstream_model: '',
      status: 502,
      error_code: 'upstream_error',
      attempts: 3,
      latency_ms: 2_147_483_647,
      ttft_ms: 0,
      prompt_tokens: 0,
      completion_tokens: 7,
      total_tokens: 7,
      cost_rub: '12345678901.123456789',
      stream: true,
    });
  });

  it('should put each row in the partition of its UTC day', async () => {
    const usage = recorder(new SqlRequestLogWriter(dataSource));
    const today = Math.floor(Date.now() / DAY) * DAY;
    const days = [0, 1, 2, 3].map((d) => new Date(today + d * DAY));
    for (const day of days) {
      for (const offset of [0, 12 * 3_600_000, DAY - 1]) {
        usage.record(entry(`day-${day.toISOString()}-${offset}`, new Date(day.getTime() + offset)));
      }
    }
    usage.record(entry('far-future', new Date(today + 200 * DAY))); // no partition yet: DEFAULT
    await usage.flush();
    const rows = await dataSource.query<Array<{ request_id: string; created_at: Date; partition: string }>>(
      `SELECT request_id, created_at, tableoid::regclass::text AS partition FROM request_logs`,
    );
    expect(rows).toHaveLength(13);
    for (const row of rows) {
      expect(row.partition).toBe(
        row.request_id === 'far-future' ? 'request_logs_default' : partitionName(row.created_at),
      );
    }
    expect(new Set(rows.map((r) => r.partition)).size).toBe(5);
  });

  it('should keep rows while the database is unavailable and write every one, in order, once it returns', async () => {
    const outage = await Outage.start(dataSource, db);
    const usage = recorder(outage.writer, { batchSize: 200, flushIntervalMs: 20 });
    const ids: string[] = [];
    const record = (n: number) => {
      for (let i = 0; i < n; i++) {
        const id = `outage-${ids.length}`;
        ids.push(id);
        usage.record(entry(id));
      }
    };
    record(1_000);
    await until(() => usage.stats().written === 1_000);
    await outage.begin();
    record(1_500);
    await until(() => usage.stats().failures >= 3);
    expect(usage.stats()).toMatchObject({ buffered: 1_500, dropped: 0 });
    record(500); // still down
    await outage.end();
    await until(() => usage.stats().buffered === 0);
    expect(usage.stats()).toMatchObject({ written: 3_000, dropped: 0 });
    expect(await count()).toBe(3_000);
    const order = await dataSource.query<Array<{ request_id: string }>>(
      `SELECT request_id FROM request_logs ORDER BY id`,
    );
    expect(order.map((r) => r.request_id)).toEqual(ids);
  });

  it('should flush what it holds on application shutdown, before TypeORM closes the DataSource', async () => {
    const env = { ...db.env, USAGE_FLUSH_INTERVAL_MS: '600000', USAGE_BATCH_SIZE: '10000' };
    const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
    Object.assign(process.env, env);
    await dataSource.destroy(); // one PGlite instance per process: the app opens it again
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [
          ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [databaseConfig, usageConfig] }),
          DatabaseModule.forRoot(),
          StoreModule.forRoot({}),
          UsageModule,
        ],
      }).compile();
      const app = moduleRef.createNestApplication({ logger: false });
      await app.init();
      const usage = app.get(UsageRecorder);
      for (let i = 0; i < 2_500; i++) usage.record(entry(`shutdown-${i}`));
      expect(usage.stats()).toMatchObject({ buffered: 2_500, written: 0 });
      await app.close();
      expect(usage.stats()).toMatchObject({ buffered: 0, written: 2_500, dropped: 0 });
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    }
    expect(await count(`request_id LIKE 'shutdown-%'`)).toBe(2_500);
    const partitions = await dataSource.query<Array<{ name: string }>>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'request_logs'::regclass AND c.relname = $1`,
      [partitionName(new Date(Date.now() + 7 * DAY))],
    );
    expect(partitions).toHaveLength(1); // created at bootstrap
  });
});

/**
 * Takes the database away from the recorder. On PostgreSQL for real: the database refuses new connections and its
 * sessions are terminated, so the pool's clients fail until it is allowed again. Embedded PGlite cannot be taken
 * away from its own process, so a writer in front of the real one fails while the "outage" lasts.
 */
class Outage {
  private down = false;
  readonly writer: RequestLogWriter;

  private constructor(
    real: RequestLogWriter,
    private readonly admin: Client | null,
    private readonly database: string | null,
  ) {
    this.writer = {
      write: async (rows: readonly RequestLogRow[]) => {
        if (this.down && !this.admin) {
          throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        }
        await real.write(rows);
      },
    };
  }

  static async start(dataSource: DataSource, db: TestDatabase): Promise<Outage> {
    const real = new SqlRequestLogWriter(dataSource);
    if (!db.env.DATABASE_URL || !process.env.DATABASE_URL) return new Outage(real, null, null);
    const admin = new Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    return new Outage(real, admin, new URL(db.env.DATABASE_URL).pathname.slice(1));
  }

  async begin(): Promise<void> {
    this.down = true;
    if (!this.admin || !this.database) return;
    await this.admin.query(`ALTER DATABASE ${this.database} ALLOW_CONNECTIONS false`);
    await this.admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [this.database],
    );
  }

  async end(): Promise<void> {
    this.down = false;
    if (!this.admin || !this.database) return;
    await this.admin.query(`ALTER DATABASE ${this.database} ALLOW_CONNECTIONS true`);
    await this.admin.end();
  }
}
