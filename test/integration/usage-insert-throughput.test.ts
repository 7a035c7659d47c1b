import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import {
  PartitionMaintenanceService,
  toRequestLogRow,
  UNNEST_INSERT_SQL,
  unnestInsertParams,
  USAGE_DEFAULTS,
  type RequestLogRow,
} from '@xrouter/usage';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';
/** `USAGE_BENCH=1` prints the figures and inserts more rows. */
const bench = process.env.USAGE_BENCH === '1';
const ROWS = bench ? 100_000 : 10_000;
const BATCH = USAGE_DEFAULTS.batchSize;

/** The alternative measured against unnest: one VALUES tuple per row, 18 bind parameters each. */
function valuesInsert(rows: readonly RequestLogRow[]): { sql: string; params: unknown[] } {
  const columns = /INSERT INTO request_logs \(([^)]+)\)/.exec(UNNEST_INSERT_SQL)?.[1] ?? '';
  const byColumn = unnestInsertParams(rows);
  const params: unknown[] = [];
  const tuples = rows.map((_, r) => {
    const placeholders = byColumn.map((column) => {
      params.push(column[r]);
      return `$${params.length}`;
    });
    return `(${placeholders.join(', ')})`;
  });
  return { sql: `INSERT INTO request_logs (${columns}) VALUES ${tuples.join(', ')}`, params };
}

function rows(prefix: string, count: number, now: number): RequestLogRow[] {
  return Array.from({ length: count }, (_, i) =>
    toRequestLogRow({
      createdAt: new Date(now - (i % 3_600) * 1_000),
      requestId: `${prefix}-${i}`,
      keyId: '7f0c5a7e-1111-4222-8333-444455556666',
      userId: '0b1c2d3e-4f50-4617-8829-3a4b5c6d7e8f',
      model: 'GigaChat-Pro',
      provider: 'gigachat',
      account: 'main',
      upstreamModel: 'GigaChat-2-Pro',
      status: i % 50 === 0 ? 502 : 200,
      errorCode: i % 50 === 0 ? 'upstream_error' : null,
      attempts: 1,
      latencyMs: 100 + (i % 900),
      ttftMs: i % 2 ? 40 : null,
      promptTokens: 120 + (i % 300),
      completionTokens: 80 + (i % 500),
      costRub: '0.300000000',
      stream: i % 2 === 0,
      endUser: i % 3 === 0 ? `end-user-${i % 7}` : null,
    }),
  );
}

describe(`request_logs insert throughput on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    await runMigrations(dataSource);
    await new PartitionMaintenanceService(dataSource, { ...USAGE_DEFAULTS }).maintain();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should insert the same rows with unnest as with VALUES, and report which is faster', async () => {
    const strategies = {
      unnest: (batch: RequestLogRow[]) => ({ sql: UNNEST_INSERT_SQL, params: unnestInsertParams(batch) }),
      values: valuesInsert,
    };
    const elapsed = { unnest: 0, values: 0 };
    // Alternate batch by batch so warm-up, autovacuum and cache effects hit both alike.
    const now = Date.now();
    const data = { unnest: rows('u', ROWS, now), values: rows('v', ROWS, now) };
    for (let offset = 0; offset < ROWS; offset += BATCH) {
      for (const name of ['unnest', 'values'] as const) {
        const { sql, params } = strategies[name](data[name].slice(offset, offset + BATCH));
        const started = performance.now();
        await dataSource.query(sql, params);
        elapsed[name] += performance.now() - started;
      }
    }
    const compare = await dataSource.query<Array<{ kind: string; n: string; digest: string }>>(
      `SELECT left(request_id, 1) AS kind, count(*)::text AS n,
              md5(string_agg(concat_ws('|', substr(request_id, 3), created_at, key_id, user_id, model, provider, account,
                upstream_model, status, error_code, attempts, latency_ms, ttft_ms, prompt_tokens, completion_tokens,
                total_tokens, cost_rub, stream), ',' ORDER BY substr(request_id, 3)::int)) AS digest
       FROM request_logs GROUP BY 1 ORDER BY 1`,
    );
    expect(compare.map((c) => [c.kind, c.n])).toEqual([
      ['u', String(ROWS)],
      ['v', String(ROWS)],
    ]);
    expect(compare[0].digest).toBe(compare[1].digest);
    if (bench) {
      const rate = (ms: number) => Math.round((ROWS / ms) * 1_000).toLocaleString('en-US');
      process.stdout.write(
        `\n${engine}: ${ROWS} rows in batches of ${BATCH}: unnest ${rate(elapsed.unnest)} rows/s ` +
          `(${elapsed.unnest.toFixed(0)} ms), VALUES ${rate(elapsed.values)} rows/s (${elapsed.values.toFixed(0)} ms)\n`,
      );
    }
  });
});
