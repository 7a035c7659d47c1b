import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { RequestLogRow } from './request-log-entry';

/** Where the recorder's batches go: one call, one INSERT, all rows or none. */
export interface RequestLogWriter {
  write(rows: readonly RequestLogRow[]): Promise<void>;
}

/** Columns in insert order, each with the array type its parameter is cast to. */
const COLUMNS: ReadonlyArray<readonly [column: string, arrayType: string, value: (row: RequestLogRow) => unknown]> = [
  ['created_at', 'timestamptz[]', (r) => r.createdAt.toISOString()],
  ['request_id', 'text[]', (r) => r.requestId],
  ['key_id', 'uuid[]', (r) => r.keyId],
  ['user_id', 'uuid[]', (r) => r.userId],
  ['model', 'text[]', (r) => r.model],
  ['provider', 'text[]', (r) => r.provider],
  ['account', 'text[]', (r) => r.account],
  ['upstream_model', 'text[]', (r) => r.upstreamModel],
  ['status', 'integer[]', (r) => r.status],
  ['error_code', 'text[]', (r) => r.errorCode],
  ['attempts', 'smallint[]', (r) => r.attempts],
  ['latency_ms', 'integer[]', (r) => r.latencyMs],
  ['ttft_ms', 'integer[]', (r) => r.ttftMs],
  ['prompt_tokens', 'integer[]', (r) => r.promptTokens],
  ['completion_tokens', 'integer[]', (r) => r.completionTokens],
  ['total_tokens', 'integer[]', (r) => r.totalTokens],
  ['cost_rub', 'numeric[]', (r) => r.costRub],
  ['stream', 'boolean[]', (r) => r.stream],
  ['end_user', 'text[]', (r) => r.endUser],
];

/**
 * `INSERT … SELECT * FROM unnest($1::timestamptz[], …)`: one statement, one parameter per column whatever the batch
 * size (a VALUES list needs 19 per row, caps a batch at 3,449 rows and has to be parsed anew for each batch size). It also
 * inserts faster on both engines: `USAGE_BENCH=1 npx jest test/integration/usage-insert-throughput` compares the two.
 */
export const UNNEST_INSERT_SQL =
  `INSERT INTO request_logs (${COLUMNS.map(([column]) => column).join(', ')}) ` +
  `SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}`).join(', ')})`;

/** The parameters of {@link UNNEST_INSERT_SQL}: one array per column. */
export function unnestInsertParams(rows: readonly RequestLogRow[]): unknown[][] {
  return COLUMNS.map(([, , value]) => rows.map(value));
}

/** Writes a batch with one parameterised multi-row INSERT through the application's DataSource. */
@Injectable()
export class SqlRequestLogWriter implements RequestLogWriter {
  constructor(private readonly dataSource: DataSource) {}

  async write(rows: readonly RequestLogRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.dataSource.query(UNNEST_INSERT_SQL, unnestInsertParams(rows));
  }
}
