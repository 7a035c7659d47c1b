import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { GatewayError } from '@xrouter/common';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import {
  addDays,
  costRub,
  PartitionMaintenanceService,
  SqlRequestLogWriter,
  USAGE_DEFAULTS,
  UsageRecorder,
  UsageReportService,
  utcDay,
  type RequestLogEntry,
  type UsageReportRow,
} from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

const KEYS = ['11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222'];
const USER = '33333333-3333-4333-8333-333333333333';
const MODELS = [
  { name: 'GigaChat', provider: 'gigachat', pricing: { prompt_per_1k: 0.2, completion_per_1k: 0.2 } },
  { name: 'GigaChat-Pro', provider: 'gigachat', pricing: { prompt_per_1k: 1.5, completion_per_1k: 1.5 } },
  { name: 'yandexgpt', provider: 'yandex', pricing: { prompt_per_1k: 1.2, completion_per_1k: 1.2 } },
  { name: 'free-model', provider: 'mts', pricing: undefined },
];

describe(`usage reports on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let reports: UsageReportService;
  const today = utcDay(new Date());
  const days = [addDays(today, -2), addDays(today, -1), today];

  /** Deterministic traffic: 3 days × 4 models × 2 keys, some errors, latencies 1..N ms. */
  function traffic(): RequestLogEntry[] {
    const rows: RequestLogEntry[] = [];
    let n = 0;
    for (const day of days) {
      for (const model of MODELS) {
        for (let i = 0; i < 150; i++) {
          n += 1;
          const failed = i % 10 === 0;
          const promptTokens = failed ? 0 : 17 + ((n * 7) % 400);
          const completionTokens = failed ? 0 : 3 + ((n * 13) % 900);
          rows.push({
            createdAt: new Date(day.getTime() + i * 60_000),
            requestId: `rep-${n}`,
            keyId: KEYS[i % 2],
            userId: i % 3 === 0 ? null : USER,
            model: model.name,
            provider: model.provider,
            account: 'main',
            upstreamModel: model.name,
            status: failed ? 502 : 200,
            errorCode: failed ? 'upstream_error' : i % 25 === 1 ? 'stream_truncated' : null,
            attempts: failed ? 3 : 1,
            latencyMs: i + 1,
            ttftMs: null,
            promptTokens,
            completionTokens,
            costRub: costRub(promptTokens, completionTokens, model.pricing),
            stream: i % 2 === 0,
            endUser: i % 5 === 0 ? null : `eu-${i % 4}`,
          });
        }
      }
    }
    return rows;
  }

  async function sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return dataSource.query<T[]>(query, params);
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    await runMigrations(dataSource);
    await new PartitionMaintenanceService(dataSource, { ...USAGE_DEFAULTS }).maintain(days[0]);
    const recorder = new UsageRecorder(new SqlRequestLogWriter(dataSource), { ...USAGE_DEFAULTS });
    for (const row of traffic()) recorder.record(row);
    await recorder.flush();
    await recorder.beforeApplicationShutdown();
    reports = new UsageReportService(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should give the same totals as a direct SQL SUM', async () => {
    const [direct] = await sql<{ requests: string; prompt: string; completion: string; total: string; cost: string }>(
      `SELECT count(*)::text AS requests, sum(prompt_tokens)::text AS prompt, sum(completion_tokens)::text AS completion,
              sum(total_tokens)::text AS total, sum(cost_rub)::text AS cost FROM request_logs`,
    );
    const [all] = await reports.report({}, 'none');
    expect(all).toMatchObject({
      group: 'all',
      requests: Number(direct.requests),
      promptTokens: Number(direct.prompt),
      completionTokens: Number(direct.completion),
      totalTokens: Number(direct.total),
    });
    expect(all.requests).toBe(1_800);
    expect(all.costRub).toBe(direct.cost);
    expect(all.costRub).toMatch(/^\d+\.\d{9}$/);
  });

  it('should match the sum of the costs recorded, to the last nano-rouble', async () => {
    const expected = traffic().reduce((sum, row) => sum + BigInt(row.costRub.replace('.', '')), 0n);
    const [all] = await reports.report({}, 'none');
    expect(BigInt(all.costRub.replace('.', ''))).toBe(expected);
  });

  it('should group by model with per-group sums that add up to the total', async () => {
    const rows = await reports.report({}, 'model');
    expect(rows.map((r) => r.group)).toEqual(['free-model', 'GigaChat', 'GigaChat-Pro', 'yandexgpt'].sort());
    const direct = await sql<{ model: string; requests: string; cost: string; errors: string }>(
      `SELECT model, count(*)::text AS requests, sum(cost_rub)::text AS cost,
              count(*) FILTER (WHERE status >= 400 OR error_code IS NOT NULL)::text AS errors
       FROM request_logs GROUP BY model`,
    );
    for (const row of rows) {
      const match = direct.find((d) => d.model === row.group);
      expect(row).toMatchObject({
        requests: Number(match?.requests),
        costRub: match?.cost,
        errors: Number(match?.errors),
      });
    }
    expect(rows.find((r) => r.group === 'free-model')?.costRub).toBe('0.000000000');
    const [all] = await reports.report({}, 'none');
    expect(rows.reduce((s, r) => s + r.totalTokens, 0)).toBe(all.totalTokens);
    // 15 upstream failures and 6 truncated streams per model and day.
    expect(rows.every((r) => r.errors === 3 * (15 + 6))).toBe(true);
  });

  it('should group by UTC day', async () => {
    const rows = await reports.report({}, 'day');
    expect(rows.map((r) => [r.group, r.requests])).toEqual(
      days.map((day) => [day.toISOString().slice(0, 10), MODELS.length * 150]),
    );
  });

  it('should group by key, user and provider, with a null group for rows without one', async () => {
    expect((await reports.report({}, 'key')).map((r) => [r.group, r.requests])).toEqual([
      [KEYS[0], 900],
      [KEYS[1], 900],
    ]);
    expect((await reports.report({}, 'user')).map((r) => [r.group, r.requests])).toEqual([
      [USER, 1_200],
      [null, 600],
    ]);
    expect((await reports.report({}, 'provider')).map((r) => [r.group, r.requests])).toEqual([
      ['gigachat', 900],
      ['mts', 450],
      ['yandex', 450],
    ]);
  });

  it('should group and filter by the end user a request named, as a direct SQL count does', async () => {
    const direct = await sql<{ end_user: string | null; requests: string }>(
      `SELECT end_user, count(*)::text AS requests FROM request_logs GROUP BY end_user`,
    );
    const grouped = await reports.report({}, 'end_user');
    expect(new Map(grouped.map((r) => [r.group, r.requests]))).toEqual(
      new Map(direct.map((r) => [r.end_user, Number(r.requests)])),
    );
    expect(grouped.find((r) => r.group === null)?.requests).toBe(360); // i % 5 === 0 named no end user
    const one = await reports.report({ endUser: 'eu-1', model: 'GigaChat' }, 'none');
    expect(one[0]?.requests).toBe(Number(direct.find((r) => r.end_user === 'eu-1')?.requests) / 4);
  });

  it('should filter by time range, key, model, provider and outcome', async () => {
    const one = async (filter: Parameters<UsageReportService['report']>[0]) =>
      (await reports.report(filter, 'none'))[0];
    expect((await one({ from: days[1] }))?.requests).toBe(1_200);
    expect((await one({ from: days[1], to: days[2] }))?.requests).toBe(600);
    expect((await one({ keyId: KEYS[0], model: 'GigaChat' }))?.requests).toBe(225);
    expect((await one({ userId: USER, provider: 'yandex' }))?.requests).toBe(300);
    const errors = await one({ status: 'error' });
    const successes = await one({ status: 'success' });
    expect(errors?.requests).toBe(errors?.errors);
    expect(successes?.errors).toBe(0);
    expect((errors?.requests ?? 0) + (successes?.requests ?? 0)).toBe(1_800);
    expect(await reports.report({ model: "nope'; DROP TABLE request_logs; --" }, 'model')).toEqual([]);
    expect(await reports.report({ from: addDays(today, 5) }, 'day')).toEqual([]);
  });

  it('should compute sane latency percentiles', async () => {
    // Latencies are 1..150 ms in each model-day: percentile_cont interpolates between ranks.
    const [row] = await reports.report({ model: 'GigaChat', from: days[0], to: days[1] }, 'none');
    expect(row.latencyP50Ms).toBeCloseTo(75.5, 6);
    expect(row.latencyP95Ms).toBeCloseTo(142.55, 6);
    expect(row.latencyP99Ms).toBeCloseTo(148.51, 6);
    for (const r of await reports.report({}, 'model')) {
      expect(r.latencyP50Ms).toBeLessThanOrEqual(r.latencyP95Ms);
      expect(r.latencyP95Ms).toBeLessThanOrEqual(r.latencyP99Ms);
      expect(r.latencyP99Ms).toBeLessThanOrEqual(150);
    }
  });

  it('should refuse a key id that is not a UUID, before touching the database', async () => {
    await expect(reports.report({ keyId: 'xr-not-a-uuid' }, 'key')).rejects.toBeInstanceOf(GatewayError);
    await expect(reports.report({ from: new Date('nope') }, 'key')).rejects.toBeInstanceOf(GatewayError);
  });

  it('should write RFC 4180 CSV, quoting commas, quotes and line breaks', () => {
    const row = (group: string | null): UsageReportRow => ({
      group,
      requests: 2,
      errors: 1,
      promptTokens: 10,
      completionTokens: 5,
      totalTokens: 15,
      costRub: '0.015000000',
      latencyP50Ms: 12.5,
      latencyP95Ms: 20,
      latencyP99Ms: 21,
    });
    expect(reports.toCsv([row('plain'), row('with,comma'), row('say "hi"'), row('two\nlines'), row(null)])).toBe(
      'group,requests,errors,promptTokens,completionTokens,totalTokens,costRub,latencyP50Ms,latencyP95Ms,latencyP99Ms\r\n' +
        'plain,2,1,10,5,15,0.015000000,12.5,20,21\r\n' +
        '"with,comma",2,1,10,5,15,0.015000000,12.5,20,21\r\n' +
        '"say ""hi""",2,1,10,5,15,0.015000000,12.5,20,21\r\n' +
        '"two\nlines",2,1,10,5,15,0.015000000,12.5,20,21\r\n' +
        ',2,1,10,5,15,0.015000000,12.5,20,21\r\n',
    );
    expect(reports.toCsv([])).toBe(
      'group,requests,errors,promptTokens,completionTokens,totalTokens,costRub,latencyP50Ms,latencyP95Ms,latencyP99Ms\r\n',
    );
  });

  it('should CSV-export a real report whose model names need quoting', async () => {
    const recorder = new UsageRecorder(new SqlRequestLogWriter(dataSource), { ...USAGE_DEFAULTS });
    const base = traffic()[2]; // a success
    recorder.record({ ...base, requestId: 'csv-1', model: 'odd "model", v2', createdAt: addDays(today, 1) });
    await recorder.flush();
    await recorder.beforeApplicationShutdown();
    const csv = reports.toCsv(await reports.report({ from: addDays(today, 1) }, 'model'));
    expect(csv.split('\r\n')[1]).toMatch(/^"odd ""model"", v2",1,0,/);
  });
});
