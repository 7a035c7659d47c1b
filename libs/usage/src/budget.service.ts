import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, StoreUnavailableError, type Store } from '@xrouter/store';
import { formatNanos } from './pricing';
import { USAGE_REPORT_DATA_SOURCE } from './usage.constants';

/** A monthly budget: tokens and/or RUB (decimal string); null = unlimited on that axis. */
export interface BudgetLimit {
  tokens: number | null;
  rub: string | null;
}

/** Whose budget: an API key or a user (a user's budget covers all their keys and tokens). */
export interface BudgetSubject {
  scope: 'key' | 'user';
  id: string;
  limit: BudgetLimit;
}

export interface BudgetStatus {
  scope: 'key' | 'user';
  id: string;
  /** `YYYY-MM`, UTC. */
  month: string;
  tokens: { limit: number | null; spent: number };
  rub: { limit: string | null; spent: string };
}

const NANOS_PER_RUB = 1_000_000_000n;

function toNanos(rub: string): bigint {
  const [whole, fraction = ''] = rub.split('.');
  return BigInt(whole) * NANOS_PER_RUB + BigInt((fraction + '000000000').slice(0, 9));
}

export function monthOf(date: Date): { label: string; start: Date } {
  const start = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
  return { label: start.toISOString().slice(0, 7), start };
}

const COUNTER_TTL_MS = 35 * 24 * 3600 * 1000;

/**
 * Monthly budgets enforced before a request is routed, without a database query on the hot path: spend lives in
 * store counters (tokens, and cost in 10⁻⁹ RUB) per subject and month, charged after every request and seeded once
 * per month from `request_logs` when a counter is missing (a new month, or a Redis that lost its data). A subject
 * at or over its budget is refused with 429 `insufficient_quota` and nothing is sent upstream.
 */
@Injectable()
export class BudgetService {
  private readonly logger = new Logger(BudgetService.name);

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(USAGE_REPORT_DATA_SOURCE) private readonly dataSource: DataSource,
    @Optional() private readonly metrics?: XRouterMetrics,
  ) {}

  private key(subject: Pick<BudgetSubject, 'scope' | 'id'>, month: string, axis: 'tokens' | 'nanos'): string {
    return `budget:{${subject.scope}:${subject.id}}:${month}:${axis}`;
  }

  /** Refuses with 429 insufficient_quota when any subject has used up its budget this month. */
  async assertWithin(subjects: readonly BudgetSubject[]): Promise<void> {
    const limited = subjects.filter((s) => s.limit.tokens !== null || s.limit.rub !== null);
    if (limited.length === 0) return;
    let statuses: BudgetStatus[];
    try {
      statuses = await Promise.all(limited.map((s) => this.status(s)));
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.logger.warn('Store unreachable: budgets are not enforced until it is back');
      return;
    }
    for (const status of statuses) {
      const overTokens = status.tokens.limit !== null && status.tokens.spent >= status.tokens.limit;
      const overRub = status.rub.limit !== null && toNanos(status.rub.spent) >= toNanos(status.rub.limit);
      if (overTokens || overRub) {
        this.metrics?.budgetRejections.inc({ scope: status.scope });
        const what = overTokens ? `${status.tokens.limit} tokens` : `${status.rub.limit} RUB`;
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
    const nanos = Number(toNanos(costRub));
    for (const subject of subjects) {
      void Promise.all([
        tokens > 0 ? this.store.increment(this.key(subject, label, 'tokens'), tokens, COUNTER_TTL_MS) : null,
        nanos > 0 ? this.store.increment(this.key(subject, label, 'nanos'), nanos, COUNTER_TTL_MS) : null,
      ]).catch(() => undefined);
    }
  }

  /** This month's spend against the budget. */
  async status(subject: BudgetSubject, at = new Date()): Promise<BudgetStatus> {
    const { label, start } = monthOf(at);
    let [tokens, nanos] = await Promise.all([
      this.store.get(this.key(subject, label, 'tokens')),
      this.store.get(this.key(subject, label, 'nanos')),
    ]);
    if (tokens === null || nanos === null) [tokens, nanos] = await this.seed(subject, label, start);
    return {
      scope: subject.scope,
      id: subject.id,
      month: label,
      tokens: { limit: subject.limit.tokens, spent: Number(tokens) },
      rub: { limit: subject.limit.rub, spent: formatNanos(BigInt(nanos)) },
    };
  }

  /** The month so far from the usage table, written to the store unless another replica got there first. */
  private async seed(subject: BudgetSubject, label: string, start: Date): Promise<[string, string]> {
    const column = subject.scope === 'key' ? 'key_id' : 'user_id';
    const [row] = await this.dataSource.query<Array<{ tokens: string; nanos: string }>>(
      `SELECT COALESCE(sum(prompt_tokens + completion_tokens), 0)::bigint::text AS tokens,
              COALESCE(sum(cost_rub) * 1000000000, 0)::bigint::text AS nanos
         FROM request_logs WHERE ${column} = $1 AND created_at >= $2`,
      [subject.id, start],
    );
    const tokensKey = this.key(subject, label, 'tokens');
    const nanosKey = this.key(subject, label, 'nanos');
    await Promise.all([
      this.store.setIfAbsent(tokensKey, row.tokens, COUNTER_TTL_MS),
      this.store.setIfAbsent(nanosKey, row.nanos, COUNTER_TTL_MS),
    ]);
    const [tokens, nanos] = await Promise.all([this.store.get(tokensKey), this.store.get(nanosKey)]);
    return [tokens ?? row.tokens, nanos ?? row.nanos];
  }
}
