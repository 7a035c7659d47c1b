import { BeforeApplicationShutdown, Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { backoffDelay } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import { toRequestLogRow, type RequestLogEntry, type RequestLogRow } from './request-log-entry';
import type { RequestLogWriter } from './request-log.writer';
import { RowQueue } from './row-queue';
import { usageConfig, type UsageSettings } from './usage.config';
import { USAGE_WRITER } from './usage.constants';

/** Counters for the metrics lib; all but `buffered` and `lastFlushMs` only grow. */
export interface UsageRecorderStats {
  /** Rows held in memory, the batch being written included. */
  buffered: number;
  /** Rows that will never be written: buffer overflow, rejected by the database, or still held at shutdown. */
  dropped: number;
  written: number;
  /** Batches written. */
  flushes: number;
  /** Duration of the last batch written. */
  lastFlushMs: number;
  /** Batch writes that failed and were kept for a retry. */
  failures: number;
}

const RETRY_BASE_MS = 200;
/**
 * The longest wait between retries while the database is down. One INSERT attempt every few seconds costs nothing,
 * and a longer cap would leave rows waiting (and the buffer filling toward `bufferMax`) long after the database is
 * back: after a 15 s outage a 30 s cap meant up to 13 s more of nothing written.
 */
export const RETRY_MAX_MS = 5_000;
const LOG_EVERY_MS = 30_000;

/** The wait after `failures` consecutive failed writes: capped exponential backoff, up to 25 % below the target. */
function retryDelayMs(failures: number): number {
  return backoffDelay(failures, RETRY_BASE_MS, RETRY_MAX_MS, { jitter: 0.25 });
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  const found = typeof code === 'string' ? code : driverError?.code;
  return typeof found === 'string' ? found : undefined;
}

/**
 * SQLSTATE classes 22 (data exception) and 23 (integrity violation): the rows are at fault, so retrying the same
 * batch can never succeed. Anything else (connection refused, shutting down, timeouts) is worth retrying.
 */
function isDataError(error: unknown): boolean {
  const code = errorCode(error);
  return code !== undefined && /^2[23]/.test(code);
}

/** A database error for the log: its code and the first line of its message, never the parameters. */
function describe(error: unknown): string {
  const code = errorCode(error);
  const message = (error instanceof Error ? error.message : String(error)).split('\n')[0].slice(0, 200);
  return code ? `${code}: ${message}` : message;
}

/**
 * Queues one usage row per request in memory and writes them in batches, so the request path never waits on the
 * database. A batch is written when `batchSize` rows are waiting or every `flushIntervalMs`, one batch at a time.
 * When a write fails the batch goes back to the front (order kept) and is retried with capped exponential backoff;
 * past `bufferMax` rows (plus the batch in flight) the oldest are dropped and counted. Shutdown writes everything
 * still held, within `shutdownFlushMs`.
 */
@Injectable()
export class UsageRecorder implements BeforeApplicationShutdown {
  private readonly logger = new Logger('UsageRecorder');
  private readonly queue = new RowQueue<RequestLogRow>();
  /** Rows of the batch being written (out of the queue until the write settles). */
  private inflight = 0;
  private current: Promise<void> | null = null;
  private intervalTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly counters = { dropped: 0, written: 0, flushes: 0, lastFlushMs: 0, failures: 0 };
  private readonly lastLogAt = new Map<string, number>();
  private droppedSinceLog = 0;

  constructor(
    @Inject(USAGE_WRITER) private readonly writer: RequestLogWriter,
    @Inject(usageConfig.KEY) private readonly settings: UsageSettings,
    @Optional() private readonly metrics?: XRouterMetrics,
  ) {
    metrics?.bindUsageBuffer(() => this.queue.length + this.inflight);
  }

  private addDropped(count: number): void {
    this.counters.dropped += count;
    this.metrics?.usageDropped.inc(count);
  }

  /** Queues one row. Synchronous and never throws: usage is never worth failing a request for. */
  record(entry: RequestLogEntry): void {
    try {
      if (this.state === 'closed') {
        this.countDropped(1, 'recorded after shutdown');
        return;
      }
      this.queue.push(toRequestLogRow(entry));
      this.enforceCap();
      this.startInterval();
      if (this.queue.length >= this.settings.batchSize) this.kick(this.settings.batchSize);
    } catch {
      this.addDropped(1);
    }
  }

  /** Writes everything held (rows recorded meanwhile included); rejects, keeping the rows, if a write fails. */
  async flush(): Promise<void> {
    do {
      await this.flushBatch();
    } while (this.queue.length > 0 || this.current !== null); // a background drain may have started the next batch
  }

  stats(): UsageRecorderStats {
    return { buffered: this.queue.length + this.inflight, ...this.counters };
  }

  /**
   * Runs before TypeORM closes its DataSource (that happens in onApplicationShutdown): writes what is held,
   * retrying until `shutdownFlushMs` has passed; whatever is left then is counted as dropped.
   */
  async beforeApplicationShutdown(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'closing';
    this.clearTimers();
    const deadline = Date.now() + this.settings.shutdownFlushMs;
    while (this.queue.length + this.inflight > 0 && Date.now() < deadline) {
      try {
        await this.withDeadline(this.flush(), deadline - Date.now());
      } catch {
        const wait = Math.min(retryDelayMs(this.consecutiveFailures), deadline - Date.now());
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    this.state = 'closed';
    const left = this.queue.length;
    this.queue.clear();
    if (left > 0) {
      this.addDropped(left);
      this.logger.error(`Shutdown: ${left} usage rows could not be written within ${this.settings.shutdownFlushMs} ms`);
    }
  }

  /** Starts a background drain unless a write is running or a retry is pending. */
  private kick(minRows: number): void {
    if (this.state !== 'open' || this.current !== null || this.retryTimer !== null) return;
    void this.drain(minRows);
  }

  private async drain(minRows: number): Promise<void> {
    try {
      while (this.state === 'open' && this.retryTimer === null && this.queue.length >= minRows) {
        await this.flushBatch();
      }
    } catch {
      // Counted, logged and scheduled for a retry by writeNextBatch.
    }
  }

  /** The batch being written, or a new one: never two writes at once. */
  private flushBatch(): Promise<void> {
    this.current ??= this.writeNextBatch().finally(() => {
      this.current = null;
    });
    return this.current;
  }

  private async writeNextBatch(): Promise<void> {
    const batch = this.queue.take(this.settings.batchSize);
    if (batch.length === 0) return;
    this.inflight = batch.length;
    const progress = { done: 0 };
    const started = performance.now();
    try {
      await this.writeIsolating(batch, progress);
      this.inflight = 0;
      this.counters.flushes += 1;
      this.counters.lastFlushMs = Math.round((performance.now() - started) * 10) / 10;
      this.metrics?.usageFlushDuration.observe((performance.now() - started) / 1000);
      if (this.consecutiveFailures > 0) this.logger.log(`Usage rows are being written again`);
      this.consecutiveFailures = 0;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
    } catch (error) {
      this.inflight = 0;
      this.counters.failures += 1;
      this.consecutiveFailures += 1;
      const rest = batch.slice(progress.done);
      if (this.state === 'closed') this.countDropped(rest.length, 'write failed after shutdown');
      else {
        this.queue.unshift(rest);
        this.enforceCap();
      }
      this.logThrottled(
        'failure',
        'warn',
        `Writing ${rest.length} usage rows failed (${describe(error)}); ${this.queue.length} held, ` +
          `${this.consecutiveFailures} failures in a row`,
      );
      if (this.state === 'open') this.scheduleRetry();
      throw error;
    }
  }

  /**
   * Writes `rows`; when the database rejects their data, halves the batch until the offending rows are isolated,
   * drops just those (counted) and writes the rest. `progress.done` is how many rows from the front are settled.
   */
  private async writeIsolating(rows: RequestLogRow[], progress: { done: number }): Promise<void> {
    try {
      await this.writer.write(rows);
      this.counters.written += rows.length;
      progress.done += rows.length;
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (rows.length === 1) {
        progress.done += 1;
        this.countDropped(1, `rejected by the database (${errorCode(error)})`);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      await this.writeIsolating(rows.slice(0, half), progress);
      await this.writeIsolating(rows.slice(half), progress);
    }
  }

  /**
   * Keeps at most `bufferMax` rows queued, dropping the oldest. The batch in flight is not counted until it fails and
   * comes back to the front, so memory is bounded by `bufferMax + batchSize` and drops always hit the oldest rows.
   */
  private enforceCap(): void {
    const excess = this.queue.length - this.settings.bufferMax;
    if (excess > 0) this.countDropped(this.queue.dropOldest(excess), `buffer full (${this.settings.bufferMax} rows)`);
  }

  private countDropped(count: number, reason: string): void {
    if (count <= 0) return;
    this.addDropped(count);
    this.droppedSinceLog += count;
    if (
      this.logThrottled(
        'drop',
        'error',
        `Dropped ${this.droppedSinceLog} usage rows: ${reason}; ${this.counters.dropped} in total`,
      )
    ) {
      this.droppedSinceLog = 0;
    }
  }

  /** Logs at most once per 30 s per kind; returns whether it logged. */
  private logThrottled(kind: string, level: 'warn' | 'error', message: string): boolean {
    const now = Date.now();
    const last = this.lastLogAt.get(kind);
    if (last !== undefined && now - last < LOG_EVERY_MS) return false;
    this.lastLogAt.set(kind, now);
    this.logger[level](message);
    return true;
  }

  private scheduleRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick(1);
    }, retryDelayMs(this.consecutiveFailures));
    this.retryTimer.unref();
  }

  private startInterval(): void {
    if (this.intervalTimer !== null || this.state !== 'open') return;
    this.intervalTimer = setInterval(() => this.kick(1), this.settings.flushIntervalMs);
    this.intervalTimer.unref();
  }

  private clearTimers(): void {
    if (this.intervalTimer) clearInterval(this.intervalTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.intervalTimer = null;
    this.retryTimer = null;
  }

  /** Waits for `work` at most `ms`; the work itself goes on (its failure is handled where it happens). */
  private async withDeadline(work: Promise<void>, ms: number): Promise<void> {
    void work.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('shutdown flush deadline')), ms);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
