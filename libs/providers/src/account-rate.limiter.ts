import { Inject, Injectable, Logger } from '@nestjs/common';
import { STORE, StoreUnavailableError, type Store } from '@xrouter/store';
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
 * When the store is unreachable the limit is not enforced (the upstream's own 429 still is), said once in the log.
 */
@Injectable()
export class AccountRateLimiter {
  private readonly logger = new Logger(AccountRateLimiter.name);
  private storeDown = false;

  constructor(@Inject(STORE) private readonly store: Store) {}

  async acquire(target: DeploymentTarget): Promise<AccountPermit> {
    const rpm = target.account.rpm;
    if (!rpm) return ALLOWED;
    try {
      // The hash tag keeps the key on one Redis Cluster slot (it is the only key the script touches anyway).
      const result = await this.store.consume(
        `account-rpm:{${target.provider.id}/${target.account.id}}`,
        1,
        rpm,
        WINDOW_MS,
      );
      if (this.storeDown) {
        this.storeDown = false;
        this.logger.log('Store reachable again: per-account limits enforced');
      }
      return result.allowed ? ALLOWED : { allowed: false, retryAfterMs: result.ttlMs };
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      if (!this.storeDown) {
        this.storeDown = true;
        this.logger.warn('Store unreachable: per-account limits are not enforced until it is back');
      }
      return ALLOWED;
    }
  }
}
