import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import {
  daysToCreate,
  msUntilNextRun,
  partitionBounds,
  partitionDay,
  partitionName,
  partitionsToDrop,
  retentionCutoff,
} from './partition-dates';
import type { UsageSettings } from './usage.config';
import { PARTITION_MAINTENANCE_LOCK_ID, REQUEST_LOGS_TABLE } from './usage.constants';

/**
 * A table range-partitioned by UTC day on `created_at`, with a `<table>_default` partition that catches rows whose
 * day has no partition yet, and the advisory lock its maintenance takes (one per table, so tables never wait on
 * each other's pass).
 */
export interface DayPartitionedTable {
  table: string;
  lockId: number;
}

export const REQUEST_LOGS_PARTITIONS: DayPartitionedTable = {
  table: REQUEST_LOGS_TABLE,
  lockId: PARTITION_MAINTENANCE_LOCK_ID,
};

/** How far ahead partitions are made and how long they are kept. */
export type PartitionSchedule = Pick<UsageSettings, 'partitionsAheadDays' | 'retentionDays'>;

export interface MaintenanceResult {
  /** Another replica held the maintenance lock: it is doing this run's work. */
  skipped: boolean;
  created: string[];
  /** Rows moved out of the DEFAULT partition into the day partitions just created. */
  moved: number;
  dropped: string[];
  /** Rows past retention deleted from the DEFAULT partition (it is not a day partition, so it is never dropped). */
  purged: number;
}

/** QueryRunner.query is untyped; rows are what the SELECT names. */
async function select<T>(runner: QueryRunner, sql: string, params?: unknown[]): Promise<T[]> {
  return (await runner.query(sql, params)) as T[];
}

const RETRY_AFTER_FAILURE_MS = 5 * 60_000;
/** Table names written into DDL: lower-case letters and underscores only. */
const TABLE_NAME = /^[a-z][a-z_]*$/;
/**
 * How long DDL waits for a lock (a long report holding DEFAULT, say) before giving up until the next pass, so
 * queries queued behind it are never held for long.
 */
const LOCK_TIMEOUT_MS = 5_000;
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Creates the day partition of `day` if it is missing, in one statement (so it is atomic on PostgreSQL and on
 * PGlite, whose single session every query shares). Rows already in the DEFAULT partition for that day would make
 * a plain CREATE … PARTITION OF fail, so the block locks DEFAULT (inserts for that day wait a moment), moves those
 * rows into a new table and attaches it as the day's partition. DDL takes no bind parameters: the name and bounds
 * are formatted from a Date here and checked against strict patterns before they are written into the SQL.
 */
export function createPartitionSql(day: Date, table: string = REQUEST_LOGS_TABLE): string {
  const name = partitionName(day, table);
  const fallback = `${table}_default`;
  const { from, to } = partitionBounds(day);
  const [lo, hi] = [from.toISOString(), to.toISOString()];
  if (!TABLE_NAME.test(table) || partitionDay(name, table) === null || !ISO_INSTANT.test(lo) || !ISO_INSTANT.test(hi)) {
    throw new Error(`Refusing to build partition DDL for ${name}`);
  }
  return `DO $$
DECLARE moved bigint := -1;
BEGIN
  IF to_regclass('${name}') IS NULL THEN
    PERFORM set_config('lock_timeout', '${LOCK_TIMEOUT_MS}', true);
    LOCK TABLE ${fallback} IN ACCESS EXCLUSIVE MODE;
    CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS);
    WITH stranded AS (
      DELETE FROM ${fallback}
      WHERE created_at >= '${lo}' AND created_at < '${hi}'
      RETURNING *
    )
    INSERT INTO ${name} SELECT * FROM stranded;
    GET DIAGNOSTICS moved = ROW_COUNT;
    ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM ('${lo}') TO ('${hi}');
  END IF;
  PERFORM set_config('xrouter.partition_moved', moved::text, false);
END $$`;
}

/** Drops one expired day partition, waiting at most LOCK_TIMEOUT_MS for its lock. */
export function dropPartitionSql(name: string, table: string = REQUEST_LOGS_TABLE): string {
  if (!TABLE_NAME.test(table) || partitionDay(name, table) === null) throw new Error(`Refusing to drop ${name}`);
  return `DO $$
BEGIN
  PERFORM set_config('lock_timeout', '${LOCK_TIMEOUT_MS}', true);
  DROP TABLE IF EXISTS ${name};
END $$`;
}

/**
 * Keeps a day-partitioned table (`request_logs` by default; stored responses too) partitioned by UTC day:
 * partitions for today and the next `partitionsAheadDays` days (and for any day that has rows stranded in DEFAULT),
 * whole partitions dropped past `retentionDays` — retention is a DROP TABLE, never a row-by-row delete. Runs at
 * start and daily after midnight UTC; replicas take turns through a PostgreSQL advisory lock. Provided by a factory
 * per table (UsageModule's for `request_logs`).
 */
export class PartitionMaintenanceService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger: Logger;
  private readonly table: string;
  private readonly fallback: string;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<MaintenanceResult> | null = null;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly settings: PartitionSchedule,
    private readonly target: DayPartitionedTable = REQUEST_LOGS_PARTITIONS,
  ) {
    this.table = target.table;
    this.fallback = `${target.table}_default`;
    this.logger = new Logger(`PartitionMaintenance(${target.table})`);
  }

  async onApplicationBootstrap(): Promise<void> {
    this.schedule(await this.runLogged());
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** One maintenance pass as of `now`; joins the pass already running in this process. */
  maintain(now: Date = new Date()): Promise<MaintenanceResult> {
    this.running ??= this.run(now).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runLogged(): Promise<boolean> {
    try {
      const result = await this.maintain();
      if (result.created.length || result.dropped.length || result.purged) {
        this.logger.log(
          `Partitions created: ${result.created.join(', ') || 'none'} (${result.moved} rows moved from DEFAULT); ` +
            `dropped: ${result.dropped.join(', ') || 'none'}; ${result.purged} expired rows purged from DEFAULT`,
        );
      }
      return true;
    } catch (error) {
      // Inserts still succeed (DEFAULT catches them); the next pass moves them into their day partition.
      this.logger.warn(
        `Partition maintenance failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      );
      return false;
    }
  }

  private schedule(succeeded: boolean): void {
    if (this.stopped) return;
    const delay = succeeded ? msUntilNextRun(new Date()) : RETRY_AFTER_FAILURE_MS;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runLogged().then((ok) => this.schedule(ok));
    }, delay);
    this.timer.unref();
  }

  private async run(now: Date): Promise<MaintenanceResult> {
    const result: MaintenanceResult = { skipped: false, created: [], moved: 0, dropped: [], purged: 0 };
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [{ locked }] = await select<{ locked: boolean }>(runner, 'SELECT pg_try_advisory_lock($1) AS locked', [
        this.target.lockId,
      ]);
      if (!locked) return { ...result, skipped: true };
      try {
        await this.createMissing(runner, now, result);
        await this.dropExpired(runner, now, result);
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [this.target.lockId]);
      }
      return result;
    } finally {
      await runner.release();
    }
  }

  private async listPartitions(runner: QueryRunner): Promise<string[]> {
    const rows = await select<{ name: string }>(
      runner,
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = to_regclass($1)`,
      [this.table],
    );
    return rows.map((r) => r.name);
  }

  private async createMissing(runner: QueryRunner, now: Date, result: MaintenanceResult): Promise<void> {
    const cutoff = retentionCutoff(now, this.settings.retentionDays);
    // Days with rows in DEFAULT (the service was down at midnight, or the clock jumped) get their partition too.
    const stranded = await select<{ day: string }>(
      runner,
      `SELECT DISTINCT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day
       FROM ${this.fallback} WHERE created_at >= $1`,
      [cutoff.toISOString()],
    );
    const existing = new Set(await this.listPartitions(runner));
    const wanted = new Map<string, Date>();
    for (const day of [
      ...daysToCreate(now, this.settings.partitionsAheadDays),
      ...stranded.map((s) => new Date(`${s.day}T00:00:00.000Z`)),
    ]) {
      const name = partitionName(day, this.table);
      if (!existing.has(name)) wanted.set(name, day);
    }
    for (const [name, day] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
      await runner.query(createPartitionSql(day, this.table));
      const [{ moved }] = await select<{ moved: string | null }>(
        runner,
        `SELECT current_setting('xrouter.partition_moved', true) AS moved`,
      );
      // -1: the partition turned up meanwhile (created by hand), nothing was done.
      if (Number(moved ?? -1) < 0) continue;
      result.created.push(name);
      result.moved += Number(moved);
    }
  }

  private async dropExpired(runner: QueryRunner, now: Date, result: MaintenanceResult): Promise<void> {
    const existing = await this.listPartitions(runner);
    for (const name of partitionsToDrop(existing, now, this.settings.retentionDays, this.table)) {
      await runner.query(dropPartitionSql(name, this.table));
      result.dropped.push(name);
    }
    const [{ purged }] = await select<{ purged: number }>(
      runner,
      `WITH gone AS (DELETE FROM ${this.fallback} WHERE created_at < $1 RETURNING 1)
       SELECT count(*)::int AS purged FROM gone`,
      [retentionCutoff(now, this.settings.retentionDays).toISOString()],
    );
    result.purged = purged;
  }
}
