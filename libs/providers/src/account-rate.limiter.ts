import { Inject, Injectable, Logger } from '@nestjs/common';
import { LocalLimits, STORE, StoreOutageLog, StoreUnavailableError, type Store } from '@xrouter/store';
import type { DeploymentTarget } from './llm-provider.interface';

export interface AccountPermit {
  allowed: boolean;
  /** When refused: how long until the account's window resets. */
  retryAfterMs: number;
}

const WINDOW_MS = 60_000;
const ALLOWED: AccountPermit = { allowed: true, retryAfterMs: 0 };

/**
 * Per-account request limits (`rpm` in the routing config), shared by every replica through the store: one atomic
 * `consume` per attempt, only for accounts that have a limit. Several accounts of a provider thus multiply its limit.
 * When the store is unreachable each replica enforces its share of the limit alone ({@link LocalLimits}), said once
 * in the log.
 */
@Injectable()
export class AccountRateLimiter {
  private readonly outage: StoreOutageLog;

  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly local: LocalLimits,
  ) {
    this.outage = new StoreOutageLog(
      new Logger(AccountRateLimiter.name),
      null,
      'account_rate_limit',
      'each replica enforces its share of per-account limits alone',
    );
  }

  async acquire(target: DeploymentTarget): Promise<AccountPermit> {
    const rpm = target.account.rpm;
    if (!rpm) return ALLOWED;
    // The hash tag keeps the key on one Redis Cluster slot (it is the only key the script touches anyway).
    const key = `account-rpm:{${target.provider.id}/${target.account.id}}`;
    let result;
    try {
      result = await this.store.consume(key, 1, rpm, WINDOW_MS);
      this.outage.answered();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      result = await this.local.consume(key, 1, rpm, WINDOW_MS);
    }
    return result.allowed ? ALLOWED : { allowed: false, retryAfterMs: result.ttlMs };
  }
}
