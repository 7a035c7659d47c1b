import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import {
  addDays,
  costRub,
  PartitionMaintenanceService,
  partitionName,
  SqlRequestLogWriter,
  USAGE_DEFAULTS,
  UsageRecorder,
  utcDay,
  type RequestLogEntry,
  type UsageSettings,
} from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

function entry(requestId: string, createdAt: Date): RequestLogEntry {
  return {
    createdAt,
    requestId,
    keyId: null,
    userId: null,
    model: 'YandexGPT',
    provider: 'yandex',
    account: null,
    upstreamModel: 'yandexgpt/latest',
    status: 200,
    errorCode: null,
    attempts: 1,
    latencyMs: 100,
    ttftMs: 20,
    promptTokens: 10,
    completionTokens: 10,
    costRub: costRub(10, 10, { prompt_per_1k: 1.2, completion_per_1k: 1.2 }),
    stream: true,
    endUser: null,
  };
}

describe(`request_logs partitions on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let recorder: UsageRecorder;
  const today = utcDay(new Date());
  const settings: UsageSettings = { ...USAGE_DEFAULTS, partitionsAheadDays: 7, retentionDays: 90 };

  const service = (overrides: Partial<UsageSettings> = {}, source = dataSource) =>
    new PartitionMaintenanceService(source, { ...settings, ...overrides });

  async function partitions(): Promise<string[]> {
    const rows = await dataSource.query<Array<{ name: string }>>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'request_logs'::regclass ORDER BY 1`,
    );
    return rows.map((r) => r.name);
  }

  async function placement(prefix: string): Promise<Record<string, string>> {
    const rows = await dataSource.query<Array<{ request_id: string; partition: string }>>(
      `SELECT request_id, tableoid::regclass::text AS partition FROM request_logs WHERE request_id LIKE $1`,
      [`${prefix}%`],
    );
    return Object.fromEntries(rows.map((r) => [r.request_id, r.partition]));
  }

  async function insert(rows: RequestLogEntry[]): Promise<void> {
    for (const row of rows) recorder.record(row);
    await recorder.flush();
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    await runMigrations(dataSource);
    recorder = new UsageRecorder(new SqlRequestLogWriter(dataSource), { ...settings });
  });

  afterAll(async () => {
    await recorder?.beforeApplicationShutdown();
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should create a partitioned table with a DEFAULT partition and the report indexes', async () => {
    const [table] = await dataSource.query<Array<{ kind: string; key: string }>>(
      `SELECT c.relkind::text AS kind, pg_get_partkeydef(c.oid) AS key FROM pg_class c WHERE c.relname = 'request_logs'`,
    );
    expect(table).toEqual({ kind: 'p', key: 'RANGE (created_at)' });
    expect(await partitions()).toEqual(['request_logs_default']);
    const indexes = await dataSource.query<Array<{ indexname: string }>>(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'request_logs' ORDER BY 1`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      'request_logs_key_id_created_at_idx',
      'request_logs_model_created_at_idx',
      'request_logs_pkey',
      'request_logs_provider_created_at_idx',
      'request_logs_user_id_created_at_idx',
    ]);
  });

  it('should accept a row for a day without a partition (it lands in DEFAULT)', async () => {
    await insert([entry('no-partition', addDays(today, 3))]);
    expect(await placement('no-partition')).toEqual({ 'no-partition': 'request_logs_default' });
  });

  it('should create today and the next 7 days, move the rows DEFAULT held for them, and be idempotent', async () => {
    const result = await service().maintain();
    const expected = Array.from({ length: 8 }, (_, i) => partitionName(addDays(today, i)));
    expect(result).toMatchObject({ skipped: false, created: expected, moved: 1, dropped: [] });
    expect(await partitions()).toEqual([...expected, 'request_logs_default'].sort());
    expect(await placement('no-partition')).toEqual({ 'no-partition': partitionName(addDays(today, 3)) });
    expect(await service().maintain()).toMatchObject({ created: [], moved: 0, dropped: [] });
  });

  it('should give every new partition the primary key and the report indexes', async () => {
    const indexes = await dataSource.query<Array<{ indexdef: string }>>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = $1`,
      [partitionName(today)],
    );
    expect(indexes).toHaveLength(5);
    expect(indexes.map((i) => i.indexdef).join('\n')).toMatch(/UNIQUE INDEX .* \(created_at, id\)/);
  });

  it('should move rows stranded in DEFAULT into the partition created for their day, ids kept', async () => {
    const future = addDays(today, 20);
    const past = addDays(today, -3); // the gateway ran without maintenance that day
    await insert([
      entry('stranded-future-1', new Date(future.getTime() + 1_000)),
      entry('stranded-future-2', new Date(future.getTime() + 86_399_999)),
      entry('stranded-past', new Date(past.getTime() + 3_600_000)),
      entry('stranded-other', addDays(today, 40)),
    ]);
    const before = await dataSource.query<Array<{ request_id: string; id: string }>>(
      `SELECT request_id, id::text AS id FROM request_logs WHERE request_id LIKE 'stranded-%' ORDER BY 1`,
    );
    expect(Object.values(await placement('stranded-'))).toEqual(Array(4).fill('request_logs_default'));

    // Maintenance as of 15 days ahead wants future's partition; the past day is created because DEFAULT holds rows.
    const result = await service().maintain(addDays(today, 15));
    expect(result.created).toEqual(
      expect.arrayContaining([partitionName(future), partitionName(past), partitionName(addDays(today, 40))]),
    );
    expect(await placement('stranded-')).toEqual({
      'stranded-future-1': partitionName(future),
      'stranded-future-2': partitionName(future),
      'stranded-past': partitionName(past),
      'stranded-other': partitionName(addDays(today, 40)),
    });
    const after = await dataSource.query<Array<{ request_id: string; id: string }>>(
      `SELECT request_id, id::text AS id FROM request_logs WHERE request_id LIKE 'stranded-%' ORDER BY 1`,
    );
    expect(after).toEqual(before);
    const [{ n }] = await dataSource.query<Array<{ n: string }>>(
      `SELECT count(*)::text AS n FROM request_logs_default`,
    );
    expect(n).toBe('0');
    // New rows for that day go straight to its partition.
    await insert([entry('stranded-later', new Date(future.getTime() + 5_000))]);
    expect((await placement('stranded-later'))['stranded-later']).toBe(partitionName(future));
  });

  it('should create the partition even when a row for its day arrives between the check and the creation', async () => {
    const day = addDays(today, 50);
    const maintenance = service({ partitionsAheadDays: 60 });
    // Race a stream of inserts for that very day against the maintenance pass.
    const writes = (async () => {
      for (let i = 0; i < 20; i++) await insert([entry(`race-${i}`, new Date(day.getTime() + i * 1_000))]);
    })();
    const [result] = await Promise.all([maintenance.maintain(), writes]);
    expect(result.created).toContain(partitionName(day));
    await service({ partitionsAheadDays: 60 }).maintain(); // anything that slipped into DEFAULT meanwhile moves now
    const placed = await placement('race-');
    expect(Object.keys(placed)).toHaveLength(20);
    expect(new Set(Object.values(placed))).toEqual(new Set([partitionName(day)]));
  });

  it('should drop whole partitions past retention and keep the recent ones', async () => {
    const old = [100, 95, 91, 90, 89].map((d) => addDays(today, -d));
    // Partitions as a maintenance pass 100 days ago would have made them.
    await service({ partitionsAheadDays: 11 }).maintain(addDays(today, -100));
    await insert(old.map((day, i) => entry(`old-${i}`, new Date(day.getTime() + 60_000))));
    await insert([entry('old-in-default', addDays(today, -200))]); // no partition that far back
    expect(Object.values(await placement('old-'))).toEqual(
      expect.arrayContaining(old.map((day) => partitionName(day))),
    );

    const result = await service({ retentionDays: 90 }).maintain();
    // 90 days of retention keeps today and the 90 days before it: day -90 stays, -91 and older go.
    expect(result.dropped).toEqual(expect.arrayContaining([100, 95, 91].map((d) => partitionName(addDays(today, -d)))));
    expect(result.dropped).not.toContain(partitionName(addDays(today, -90)));
    expect(result.purged).toBe(1);
    const names = await partitions();
    expect(names).not.toContain(partitionName(addDays(today, -91)));
    expect(names).toContain(partitionName(addDays(today, -90)));
    expect(names).toContain(partitionName(addDays(today, -89)));
    expect(names).toContain(partitionName(today));
    expect(Object.keys(await placement('old-')).sort()).toEqual(['old-3', 'old-4']);
  });

  it('should let two replicas run maintenance at the same time', async () => {
    const ahead = 70;
    const sources =
      engine === 'PostgreSQL'
        ? await Promise.all(
            [0, 1].map(() => new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize()),
          )
        : [dataSource, dataSource]; // PGlite is one embedded session: the passes are serialised in-process
    try {
      const results = await Promise.all(sources.map((s) => service({ partitionsAheadDays: ahead }, s).maintain()));
      const created = results.flatMap((r) => r.created);
      expect(new Set(created).size).toBe(created.length); // nothing created twice
      expect(await partitions()).toEqual(
        expect.arrayContaining(Array.from({ length: ahead + 1 }, (_, i) => partitionName(addDays(today, i)))),
      );
    } finally {
      if (engine === 'PostgreSQL') await Promise.all(sources.map((s) => s.destroy()));
    }
  });

  if (engine === 'PostgreSQL') {
    it('should give up within the lock timeout when a long query holds DEFAULT, and succeed on the next pass', async () => {
      const blocker = dataSource.createQueryRunner();
      await blocker.connect();
      await blocker.startTransaction();
      await blocker.query('LOCK TABLE request_logs_default IN ACCESS SHARE MODE'); // a long report, say
      const started = Date.now();
      try {
        await expect(service({ partitionsAheadDays: 80 }).maintain()).rejects.toThrow(/lock timeout/);
        expect(Date.now() - started).toBeLessThan(8_000);
      } finally {
        await blocker.commitTransaction();
        await blocker.release();
      }
      const result = await service({ partitionsAheadDays: 80 }).maintain();
      expect(result.created).toContain(partitionName(addDays(today, 80)));
    }, 20_000);
  }

  it('should schedule its daily run with an unref()ed timer and clear it on shutdown', async () => {
    const maintenance = service();
    await maintenance.onApplicationBootstrap();
    const timer = (maintenance as unknown as { timer: NodeJS.Timeout | null }).timer;
    expect(timer?.hasRef()).toBe(false);
    await maintenance.beforeApplicationShutdown();
    expect((maintenance as unknown as { timer: NodeJS.Timeout | null }).timer).toBeNull();
  });
});
