import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ErrorCode, GatewayError, type BudgetSubject, type MonthlyBudget } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, StoreOutageLog, StoreUnavailableError, type Store } from '@xrouter/store';
import { formatNanos, rubToNanos } from './pricing';
import { USAGE_REPORT_DATA_SOURCE } from './usage.constants';

export interface BudgetStatus {
  scope: 'key' | 'user';
  id: string;
  /** `YYYY-MM`, UTC. */
  month: string;
  tokens: { limit: number | null; spent: number };
  rub: { limit: string | null; spent: string };
}

/** Spend of one subject in one month: tokens and 10⁻⁹ RUB. */
interface Spend {
  tokens: number;
  nanos: bigint;
}

export function monthOf(date: Date): { label: string; start: Date } {
  const start = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
  return { label: start.toISOString().slice(0, 7), start };
}

const COUNTER_TTL_MS = 35 * 24 * 3600 * 1000;
/** How long one replica may hold the right to seed a subject's month before another may try. */
const SEED_LOCK_MS = 10_000;
/** Subjects remembered per replica for outages; the oldest are forgotten first. */
const MAX_REMEMBERED = 100_000;

/** Whether `spend` has used up `limit` on either axis. */
function exhausted(limit: MonthlyBudget, spend: Spend): boolean {
  return (
    (limit.tokens !== null && spend.tokens >= limit.tokens) ||
    (limit.rub !== null && spend.nanos >= rubToNanos(limit.rub))
  );
}

/**
 * Monthly budgets enforced before a request is routed, without a database query on the hot path: spend lives in
 * store counters (tokens, and cost in 10⁻⁹ RUB) per subject and month, charged after every request. The counters are
 * authoritative from `request_logs`: a subject's month is seeded from it on first use, and seeded again whenever the
 * store has lost it — a `seeded` marker lives beside the counters, so a Redis that restarted empty (or failed over
 * to an empty replica) is noticed even after new charges re-created the counters, and the month's recorded usage is
 * added back. A subject at or over its budget is refused with 429 `insufficient_quota` and nothing is sent upstream.
 *
 * While the store is unreachable each replica decides from the last counters it read plus what it spent since
 * (subjects it never read are seeded from the database), and sends the spend it could not write once the store
 * answers again: an outage degrades the check, it never turns it off.
 */
@Injectable()
export class BudgetService {
  private readonly logger = new Logger(BudgetService.name);
  private readonly outage: StoreOutageLog;
  /** Per subject and month: the last spend read from the store plus this replica's charges since. */
  private readonly known = new Map<string, Spend>();
  /** Per counter key: charges this replica could not write yet. */
  private readonly unsent = new Map<string, number>();
  /** Seeds under way on this replica, so concurrent requests of one subject wait for the same one. */
  private readonly seeding = new Map<string, Promise<Spend>>();

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(USAGE_REPORT_DATA_SOURCE) private readonly dataSource: DataSource,
    @Optional() private readonly metrics?: XRouterMetrics,
  ) {
    this.outage = new StoreOutageLog(
      this.logger,
      metrics,
      'budget',
      'budgets are checked against the last known spend plus this replica’s own',
    );
  }

  private key(
    subject: Pick<BudgetSubject, 'scope' | 'id'>,
    month: string,
    axis: 'tokens' | 'nanos' | 'seeded',
  ): string {
    return `budget:{${subject.scope}:${subject.id}}:${month}:${axis}`;
  }

  /** Refuses with 429 insufficient_quota when any subject has used up its budget this month. */
  async assertWithin(subjects: readonly BudgetSubject[]): Promise<void> {
    const limited = subjects.filter((s) => s.limit.tokens !== null || s.limit.rub !== null);
    if (limited.length === 0) return;
    const statuses = await Promise.all(limited.map((s) => this.status(s)));
    for (const status of statuses) {
      const spend = { tokens: status.tokens.spent, nanos: rubToNanos(status.rub.spent) };
      if (exhausted({ tokens: status.tokens.limit, rub: status.rub.limit }, spend)) {
        this.metrics?.budgetRejections.inc({ scope: status.scope });
        const what =
          status.tokens.limit !== null && spend.tokens >= status.tokens.limit
            ? `${status.tokens.limit} tokens`
            : `${status.rub.limit} RUB`;
        throw new GatewayError(
          ErrorCode.INSUFFICIENT_QUOTA,
          `You exceeded the monthly budget of this ${status.scope === 'key' ? 'API key' : 'user'} (${what} in ${status.month}).`,
        );
      }
    }
  }

  /** Adds a finished request's tokens and cost to each subject's month. Never throws. */
  charge(
    subjects: ReadonlyArray<Pick<BudgetSubject, 'scope' | 'id'>>,
    tokens: number,
    costRub: string,
    at = new Date(),
  ): void {
    const { label } = monthOf(at);
    const nanos = rubToNanos(costRub);
    for (const subject of subjects) {
      const remembered = this.known.get(this.key(subject, label, 'seeded'));
      if (remembered) {
        remembered.tokens += tokens;
        remembered.nanos += nanos;
      }
      if (tokens > 0) this.send(this.key(subject, label, 'tokens'), tokens);
      if (nanos > 0n) this.send(this.key(subject, label, 'nanos'), Number(nanos));
    }
  }

  /** This month's spend against the budget: from the store, or while it is down from what this replica knows. */
  async status(subject: BudgetSubject, at = new Date()): Promise<BudgetStatus> {
    const { label, start } = monthOf(at);
    const spend = await this.spend(subject, label, start);
    return {
      scope: subject.scope,
      id: subject.id,
      month: label,
      tokens: { limit: subject.limit.tokens, spent: spend.tokens },
      rub: { limit: subject.limit.rub, spent: formatNanos(spend.nanos) },
    };
  }

  private async spend(subject: BudgetSubject, label: string, start: Date): Promise<Spend> {
    const memo = this.key(subject, label, 'seeded');
    try {
      const read = await Promise.all([
        this.store.get(this.key(subject, label, 'tokens')),
        this.store.get(this.key(subject, label, 'nanos')),
        this.store.get(memo),
      ]);
      this.answered();
      const spend =
        read[2] === null
          ? await this.seedOnce(subject, label, start).catch((error: unknown) => {
              if (error instanceof StoreUnavailableError) throw error;
              throw new GatewayError(
                ErrorCode.SERVICE_UNAVAILABLE,
                'Budgets cannot be checked right now; try again shortly.',
                {
                  retryAfterMs: 1_000,
                  cause: error,
                },
              );
            })
          : { tokens: Number(read[0] ?? 0), nanos: BigInt(read[1] ?? 0) };
      this.remember(memo, spend);
      return spend;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      const remembered = this.known.get(memo);
      if (remembered) return remembered;
      // Never read by this replica: the database knows the month so far (once per subject per outage).
      const spend = await this.fromDatabase(subject, start).catch((cause: unknown) => {
        throw new GatewayError(
          ErrorCode.SERVICE_UNAVAILABLE,
          'Budgets cannot be checked right now; try again shortly.',
          { retryAfterMs: 1_000, cause },
        );
      });
      this.remember(memo, spend);
      return spend;
    }
  }

  private seedOnce(subject: BudgetSubject, label: string, start: Date): Promise<Spend> {
    const memo = this.key(subject, label, 'seeded');
    let pending = this.seeding.get(memo);
    if (!pending) {
      pending = this.seed(subject, label, start).finally(() => this.seeding.delete(memo));
      this.seeding.set(memo, pending);
    }
    return pending;
  }

  /**
   * Adds the month's recorded usage to the counters (which hold only charges made since the store lost them, if
   * anything), then marks the month seeded. One replica seeds; another that finds it under way decides from the
   * database itself meanwhile (read only), never from counters that may have started over.
   */
  private async seed(subject: BudgetSubject, label: string, start: Date): Promise<Spend> {
    const tokensKey = this.key(subject, label, 'tokens');
    const nanosKey = this.key(subject, label, 'nanos');
    const marker = this.key(subject, label, 'seeded');
    const lock = await this.store.acquireLock(`${marker}:lock`, SEED_LOCK_MS);
    if (lock) {
      try {
        if ((await this.store.get(marker)) === null) {
          const recorded = await this.fromDatabase(subject, start);
          await Promise.all([
            recorded.tokens > 0 ? this.store.increment(tokensKey, recorded.tokens, COUNTER_TTL_MS) : null,
            recorded.nanos > 0n ? this.store.increment(nanosKey, Number(recorded.nanos), COUNTER_TTL_MS) : null,
          ]);
          await this.store.set(marker, new Date().toISOString(), COUNTER_TTL_MS);
          this.logger.log(`Budget of ${subject.scope} ${subject.id} for ${label} seeded from request_logs`);
        }
      } finally {
        await lock.release();
      }
    } else if ((await this.store.get(marker)) === null) {
      return this.fromDatabase(subject, start);
    }
    const [tokens, nanos] = await Promise.all([this.store.get(tokensKey), this.store.get(nanosKey)]);
    return { tokens: Number(tokens ?? 0), nanos: BigInt(nanos ?? 0) };
  }

  /**
   * The month so far from the usage table. A key's pool is the key and every key it made, at any depth (the key
   * itself is the anchor, so a replica database without the key rows still counts the key's own usage).
   */
  private async fromDatabase(subject: Pick<BudgetSubject, 'scope' | 'id'>, start: Date): Promise<Spend> {
    const sums = `COALESCE(sum(prompt_tokens + completion_tokens), 0)::bigint::text AS tokens,
                  COALESCE(sum(cost_rub) * 1000000000, 0)::bigint::text AS nanos`;
    const [row] =
      subject.scope === 'key'
        ? await this.dataSource.query<Array<{ tokens: string; nanos: string }>>(
            `WITH RECURSIVE pool AS (
               SELECT $1::uuid AS id
               UNION SELECT k.id FROM api_keys k JOIN pool p ON k.parent_key_id = p.id
             )
             SELECT ${sums} FROM request_logs WHERE key_id IN (SELECT id FROM pool) AND created_at >= $2`,
            [subject.id, start],
          )
        : await this.dataSource.query<Array<{ tokens: string; nanos: string }>>(
            `SELECT ${sums} FROM request_logs WHERE user_id = $1 AND created_at >= $2`,
            [subject.id, start],
          );
    return { tokens: Number(row.tokens), nanos: BigInt(row.nanos) };
  }

  private remember(memo: string, spend: Spend): void {
    this.known.delete(memo);
    if (this.known.size >= MAX_REMEMBERED) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
    this.known.set(memo, { ...spend });
  }

  /** Increments a counter; what cannot be written now waits in {@link unsent} for the store to answer again. */
  private send(key: string, by: number): void {
    this.store.increment(key, by, COUNTER_TTL_MS).then(
      () => this.answered(),
      (error: unknown) => {
        if (error instanceof StoreUnavailableError) this.outage.failed(error);
        else this.logger.error(`Charging budget counter ${key} failed: ${String(error)}`);
        this.unsent.set(key, (this.unsent.get(key) ?? 0) + by);
      },
    );
  }

  /** The store answers: the spend it missed is written now (once: the map is emptied before sending). */
  private answered(): void {
    this.outage.answered();
    if (this.unsent.size === 0) return;
    const pending = [...this.unsent];
    this.unsent.clear();
    for (const [key, by] of pending) this.send(key, by);
  }
}
