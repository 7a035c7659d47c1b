import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { usageCsv } from './usage-csv';
import type { UsageReportRow } from './usage-report-row';
import { USAGE_REPORT_DATA_SOURCE } from './usage.constants';

export type { UsageReportRow } from './usage-report-row';

export type UsageGroupBy = 'key' | 'user' | 'end_user' | 'model' | 'provider' | 'day' | 'none';

export interface UsageReportFilter {
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  keyId?: string;
  userId?: string;
  /** The model name clients asked for. */
  model?: string;
  provider?: string;
  /** The end user the client named (OpenAI's `user` / `safety_identifier`). */
  endUser?: string;
  /** `error`: an HTTP status ≥ 400, or an error code (a stream that failed after its first byte). */
  status?: 'success' | 'error';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IS_ERROR = '(status >= 400 OR error_code IS NOT NULL)';

/** The SQL expression a grouping reads: fixed text, never built from input. */
function groupExpression(groupBy: UsageGroupBy): string {
  switch (groupBy) {
    case 'key':
      return 'key_id::text';
    case 'user':
      return 'user_id::text';
    case 'end_user':
      return 'end_user';
    case 'model':
      return 'model';
    case 'provider':
      return 'provider';
    case 'day':
      return `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    case 'none':
      return `'all'`;
    default: {
      const unknown: never = groupBy;
      throw new GatewayError(ErrorCode.BAD_REQUEST, `Unknown grouping ${String(unknown)}`, { param: 'group_by' });
    }
  }
}

function validDate(date: Date, param: string): string {
  if (!(date instanceof Date) || !Number.isFinite(date.getTime())) {
    throw new GatewayError(ErrorCode.BAD_REQUEST, `${param} is not a valid date`, { param });
  }
  return date.toISOString();
}

function validUuid(id: string, param: string): string {
  if (!UUID.test(id)) throw new GatewayError(ErrorCode.BAD_REQUEST, `${param} must be a UUID`, { param });
  return id;
}

/** WHERE conditions and their bind parameters; values only ever travel as parameters. */
export function buildWhere(filter: UsageReportFilter): { where: string; params: unknown[] } {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(condition(`$${params.length}`));
  };
  if (filter.from !== undefined) add((p) => `created_at >= ${p}::timestamptz`, validDate(filter.from, 'from'));
  if (filter.to !== undefined) add((p) => `created_at < ${p}::timestamptz`, validDate(filter.to, 'to'));
  if (filter.keyId !== undefined) add((p) => `key_id = ${p}::uuid`, validUuid(filter.keyId, 'key_id'));
  if (filter.userId !== undefined) add((p) => `user_id = ${p}::uuid`, validUuid(filter.userId, 'user_id'));
  if (filter.model !== undefined) add((p) => `model = ${p}`, filter.model);
  if (filter.provider !== undefined) add((p) => `provider = ${p}`, filter.provider);
  if (filter.endUser !== undefined) add((p) => `end_user = ${p}`, filter.endUser);
  if (filter.status === 'error') conditions.push(IS_ERROR);
  if (filter.status === 'success') conditions.push(`NOT ${IS_ERROR}`);
  return { where: conditions.length ? `WHERE ${conditions.join(' AND ')}` : '', params };
}

interface RawRow {
  group: string | null;
  requests: string;
  errors: string;
  prompt_tokens: string;
  completion_tokens: string;
  total_tokens: string;
  cost_rub: string;
  latency: Array<number | string> | string | null;
}

/** Percentiles come back as a float8[]: a JS array from pg and PGlite alike (parsed here if a driver gives text). */
function percentiles(raw: RawRow['latency']): number[] {
  const values = typeof raw === 'string' ? raw.replace(/[{}]/g, '').split(',') : (raw ?? []);
  return [0, 1, 2].map((i) => Number(values[i] ?? 0));
}

/** Usage totals straight from `request_logs` with SQL aggregates; partitions outside `from`/`to` are pruned. */
@Injectable()
export class UsageReportService {
  constructor(@Inject(USAGE_REPORT_DATA_SOURCE) private readonly dataSource: DataSource) {}

  async report(filter: UsageReportFilter, groupBy: UsageGroupBy): Promise<UsageReportRow[]> {
    const { where, params } = buildWhere(filter);
    const rows = await this.dataSource.query<RawRow[]>(
      `SELECT ${groupExpression(groupBy)} AS "group",
              count(*)::text AS requests,
              count(*) FILTER (WHERE ${IS_ERROR})::text AS errors,
              coalesce(sum(prompt_tokens), 0)::text AS prompt_tokens,
              coalesce(sum(completion_tokens), 0)::text AS completion_tokens,
              coalesce(sum(total_tokens), 0)::text AS total_tokens,
              coalesce(sum(cost_rub), 0)::numeric(30, 9)::text AS cost_rub,
              percentile_cont(ARRAY[0.5, 0.95, 0.99]::float8[]) WITHIN GROUP (ORDER BY latency_ms) AS latency
       FROM request_logs
       ${where}
       GROUP BY 1
       ORDER BY 1 NULLS LAST`,
      params,
    );
    return rows.map((row) => {
      const [p50, p95, p99] = percentiles(row.latency);
      return {
        group: row.group,
        requests: Number(row.requests),
        errors: Number(row.errors),
        promptTokens: Number(row.prompt_tokens),
        completionTokens: Number(row.completion_tokens),
        totalTokens: Number(row.total_tokens),
        costRub: row.cost_rub,
        latencyP50Ms: p50,
        latencyP95Ms: p95,
        latencyP99Ms: p99,
      };
    });
  }

  /** The rows as CSV (RFC 4180, formulas neutralised) with a header line. */
  toCsv(rows: readonly UsageReportRow[]): string {
    return usageCsv(rows);
  }
}
