import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { Principal } from '@xrouter/auth';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import {
  LocalLimits,
  STORE,
  StoreOutageLog,
  StoreUnavailableError,
  type LimitCheck,
  type LimitsResult,
  type Store,
} from '@xrouter/store';
import { rateLimitConfig, type RateLimitSettings } from './rate-limit.config';
import {
  decide,
  effectiveLimits,
  limitPools,
  limitTag,
  MINUTE_MS,
  planChecks,
  rateLimitKeys,
  type EffectiveLimits,
  type LimitPool,
  type PlannedCheck,
} from './rate-limit.policy';

/** The metric label of rate-limit store failures (`xrouter_store_errors_total{operation="rate_limit"}`). */
export const RATE_LIMIT_STORE_OPERATION = 'rate_limit';

/**
 * How long token charges gather in memory before one store write per key. A key busy with a thousand calls a second
 * costs ten store calls a second instead of a thousand; its TPM window lags the truth by at most this much.
 */
export const CHARGE_FLUSH_MS = 100;

/** The limits one replica enforces alone while the store is down: each cut to its share. */
export function localShare(limits: EffectiveLimits, local: Pick<LocalLimits, 'shareOf' | 'share'>): EffectiveLimits {
  return {
    rpm: limits.rpm === null ? null : local.shareOf(limits.rpm),
    tpm: limits.tpm === null ? null : local.shareOf(limits.tpm),
    perSecond: limits.perSecond
      ? {
          ratePerSec: limits.perSecond.ratePerSec * local.share,
          burst: local.shareOf(limits.perSecond.burst),
        }
      : null,
  };
}

/**
 * What {@link RateLimitService} asks the store for one principal: its limits, pools, planned checks and TPM keys. All
 * are pure in the principal and the settings, and the credential cache hands out the same principal object for as
 * long as it holds the entry, so they are worked out once per principal object instead of on every request. Frozen:
 * every request reads the same arrays.
 */
export interface LimitPlan {
  readonly limits: EffectiveLimits;
  readonly pools: readonly LimitPool[];
  readonly tag: string;
  readonly planned: readonly PlannedCheck[];
  /** `planned`'s store checks, in order: what `consumeLimits` is given. */
  readonly checks: readonly LimitCheck[];
  /** The TPM windows a finished call's tokens are added to (its pools', then its own). */
  readonly tpmKeys: readonly string[];
}

/** The plan of one principal under these settings (see {@link LimitPlan}). */
export function limitPlan(principal: Principal, settings: RateLimitSettings): LimitPlan {
  const limits = effectiveLimits(principal, settings);
  const tag = limitTag(principal);
  const pools = limitPools(principal, settings);
  const planned = planChecks(principal.credentialId, limits, pools, tag);
  const tpmKeys = pools.filter((pool) => pool.tpm !== null).map((pool) => rateLimitKeys(pool.id, tag).tpm);
  if (limits.tpm !== null) tpmKeys.push(rateLimitKeys(principal.credentialId, tag).tpm);
  for (const p of planned) Object.freeze(p.check);
  return Object.freeze({
    limits,
    pools: Object.freeze(pools),
    tag,
    planned: Object.freeze(planned),
    checks: Object.freeze(planned.map((p) => p.check)),
    tpmKeys: Object.freeze(tpmKeys),
  });
}

/** Charges gathered for the next write, and the promise every one of them resolves with once it is written. */
interface ChargeBatch {
  written: Promise<void>;
  timer: NodeJS.Timeout;
  writeNow: () => void;
}

/**
 * Per-credential limits on the shared store, so they hold across replicas: before a call, {@link check} decides the
 * RPM window, the per-second bucket and the TPM cap in ONE atomic store call; after it, {@link charge} adds the real
 * token count to the TPM window, gathered per key for {@link CHARGE_FLUSH_MS}. While the store is down,
 * `RATE_LIMIT_FAIL_MODE` decides: `local` (the default) enforces every limit on this replica alone, cut to its share
 * ({@link LocalLimits}); `closed` refuses requests with 503.
 */
@Injectable()
export class RateLimitService implements OnApplicationShutdown {
  private readonly logger = new Logger('RateLimit');
  private readonly outage: StoreOutageLog;
  /** Token counts per TPM key not yet written, and the batch that will write them. */
  private pendingTokens = new Map<string, number>();
  private batch: ChargeBatch | null = null;
  /** Batches still on their way to the store; shutdown waits for them (the store closes after this module). */
  private readonly charging = new Set<Promise<void>>();
  /** Plans per principal object; an entry goes when the credential cache lets go of its principal. */
  private readonly plans = new WeakMap<Principal, LimitPlan>();

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(rateLimitConfig.KEY) private readonly settings: RateLimitSettings,
    private readonly metrics: XRouterMetrics,
    private readonly local: LocalLimits,
  ) {
    this.outage = new StoreOutageLog(
      this.logger,
      metrics,
      RATE_LIMIT_STORE_OPERATION,
      settings.failMode === 'local'
        ? `each replica enforces ${local.share === 1 ? 'the whole' : `a ${local.share} share of each`} limit alone`
        : 'requests are refused with 503',
    );
  }

  /**
   * Counts one request against the credential's limits. Resolves with the `x-ratelimit-*` headers for the response
   * (none when no limit applies, or when the store is down in open mode); rejects with a 429 GatewayError (carrying
   * `Retry-After` and the same headers) when a limit refuses, or a 503 when the store is down in closed mode.
   */
  async check(principal: Principal): Promise<Record<string, string>> {
    const plan = this.plan(principal);
    let { limits, planned } = plan;
    if (planned.length === 0) return {};
    let result: LimitsResult;
    try {
      result = await this.store.consumeLimits(plan.checks);
      this.outage.answered();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      if (this.settings.failMode === 'closed') {
        throw new GatewayError(
          ErrorCode.SERVICE_UNAVAILABLE,
          'Rate limits cannot be checked right now. Please retry shortly.',
          { retryAfterMs: 1_000, cause: error },
        );
      }
      limits = localShare(limits, this.local);
      const pools = plan.pools.map((pool) => ({
        id: pool.id,
        rpm: pool.rpm === null ? null : this.local.shareOf(pool.rpm),
        tpm: pool.tpm === null ? null : this.local.shareOf(pool.tpm),
      }));
      planned = planChecks(principal.credentialId, limits, pools, plan.tag);
      result = await this.local.consumeLimits(planned.map((p) => p.check));
    }
    const decision = decide(planned, limits, result);
    if (decision.allowed) return decision.headers;
    this.metrics.rateLimitRejections.inc({ kind: decision.kind });
    throw new GatewayError(ErrorCode.RATE_LIMITED, decision.message, {
      retryAfterMs: decision.retryAfterMs,
      headers: decision.headers,
    });
  }

  /**
   * Adds the tokens a finished call used (prompt + completion) to the credential's TPM window: summed in memory per
   * key and written within {@link CHARGE_FLUSH_MS}, one store call per key. Resolves once written and never rejects,
   * so callers may leave it running (`void limiter.charge(...)`) instead of delaying the response: a store failure
   * is counted and logged once per outage, and those tokens are lost (the limit errs on the generous side).
   */
  charge(principal: Principal, totalTokens: number): Promise<void> {
    const keys = this.plan(principal).tpmKeys;
    const tokens = Math.ceil(totalTokens);
    if (keys.length === 0 || !Number.isSafeInteger(tokens) || tokens <= 0) return Promise.resolve();
    for (const key of keys) this.pendingTokens.set(key, (this.pendingTokens.get(key) ?? 0) + tokens);
    this.batch ??= this.startBatch();
    return this.batch.written;
  }

  private plan(principal: Principal): LimitPlan {
    let plan = this.plans.get(principal);
    if (!plan) {
      plan = limitPlan(principal, this.settings);
      this.plans.set(principal, plan);
    }
    return plan;
  }

  async onApplicationShutdown(): Promise<void> {
    this.batch?.writeNow();
    await Promise.all([...this.charging]);
  }

  private startBatch(): ChargeBatch {
    let writeNow!: () => void;
    const due = new Promise<void>((resolve) => (writeNow = resolve));
    const timer = setTimeout(writeNow, CHARGE_FLUSH_MS);
    const written = due.then(() => this.writeBatch());
    this.charging.add(written);
    void written.finally(() => this.charging.delete(written));
    return { written, timer, writeNow };
  }

  private async writeBatch(): Promise<void> {
    if (this.batch) clearTimeout(this.batch.timer);
    const tokensByKey = this.pendingTokens;
    this.pendingTokens = new Map();
    this.batch = null;
    await Promise.all([...tokensByKey].map(([key, tokens]) => this.increment(key, tokens)));
  }

  private async increment(key: string, tokens: number): Promise<void> {
    try {
      await this.store.increment(key, tokens, MINUTE_MS);
      this.outage.answered();
    } catch (error) {
      if (error instanceof StoreUnavailableError) this.outage.failed(error);
      else this.logger.error(`Charging ${tokens} tokens failed: ${String(error)}`);
      // The local TPM window goes on counting, so an outage does not lift the token limit either.
      await this.local.increment(key, tokens, MINUTE_MS);
    }
  }
}
