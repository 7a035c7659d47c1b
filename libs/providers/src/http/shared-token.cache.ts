import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { StoreOutageLog, StoreUnavailableError, type Store, type StoreLock } from '@xrouter/store';
import { transportError } from './upstream-error';
import type { DeploymentTarget } from '../llm-provider.interface';

/** A credential the adapters put in `Authorization`, refreshed behind their back. */
export interface AccessTokenSource {
  /** A live token for the target's account. */
  token(target: DeploymentTarget, signal: AbortSignal): Promise<string>;
  /** Forgets `token` after the API refused it, unless a newer one already replaced it. */
  invalidate(target: DeploymentTarget, token: string): Promise<void>;
}

/** One exchange of an account's long-lived secret for a short-lived token. */
export interface TokenIssuer {
  /** Names the cache in logs. */
  readonly name: string;
  /** The store key of the target's credential: a digest, never the secret itself. */
  keyOf(target: DeploymentTarget): string;
  /** One call to the token endpoint (its own deadline: callers share it); `expiresAt` in epoch ms. */
  issue(target: DeploymentTarget): Promise<{ token: string; expiresAt: number }>;
}

export interface SharedTokenCacheOptions {
  /** Epoch milliseconds; tests inject a fake clock. */
  now?: () => number;
  /** A token is refreshed this long before it expires (default 60 s; at most half the token's lifetime). */
  refreshMarginMs?: number;
  /** Expiry of the cross-replica refresh lock, should its holder die (default 15 s). */
  lockTtlMs?: number;
  /** How long a replica that did not get the lock waits for the holder's token before refreshing itself (5 s). */
  lockWaitMs?: number;
  /** Store polling interval while waiting for the lock holder (default 50 ms). */
  lockPollMs?: number;
}

interface CachedToken {
  token: string;
  expiresAt: number;
  /** When the gateway stops handing it out: `expiresAt` minus the refresh margin. */
  refreshAt: number;
}

function parseCached(raw: string | null): CachedToken | null {
  if (raw === null) return null;
  try {
    const parsed = JSON.parse(raw) as Partial<CachedToken>;
    if (
      typeof parsed.token === 'string' &&
      typeof parsed.expiresAt === 'number' &&
      typeof parsed.refreshAt === 'number'
    ) {
      return { token: parsed.token, expiresAt: parsed.expiresAt, refreshAt: parsed.refreshAt };
    }
  } catch {
    // a foreign or corrupt value: treat it as absent
  }
  return null;
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, providerId: string): Promise<T> {
  if (signal.aborted) return Promise.reject(transportError(providerId, signal.reason, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(transportError(providerId, signal.reason, signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * Short-lived tokens per credential, shared by every replica through the store and kept in-process until the refresh
 * margin. Single-flight: concurrent callers of one process share one refresh; across replicas the refresh takes a
 * store lock and the others poll the store for the holder's token (up to `lockWaitMs`, then refresh themselves). The
 * store is best effort: when it cannot answer, tokens are still fetched and cached in-process (said once per outage).
 *
 * The same algorithm as `GigaChatTokenCache`, with the token exchange behind {@link TokenIssuer}; GigaChat's cache can
 * become one of these with its OAuth call as the issuer.
 */
export class SharedTokenCache implements AccessTokenSource {
  private readonly outage: StoreOutageLog;
  private readonly local = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly now: () => number;
  private readonly refreshMarginMs: number;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly lockPollMs: number;

  constructor(
    private readonly store: Store,
    private readonly issuer: TokenIssuer,
    options: SharedTokenCacheOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.lockWaitMs = options.lockWaitMs ?? 5_000;
    this.lockPollMs = options.lockPollMs ?? 50;
    this.outage = new StoreOutageLog(
      new Logger(`${issuer.name}TokenCache`),
      null,
      `${issuer.name.toLowerCase()}_token`,
      `${issuer.name} tokens are cached per process and refreshed without the cross-replica lock`,
    );
  }

  async token(target: DeploymentTarget, signal: AbortSignal): Promise<string> {
    const key = this.issuer.keyOf(target);
    const local = this.local.get(key);
    if (local && this.isFresh(local)) return local.token;
    if (signal.aborted) throw transportError(target.provider.id, signal.reason, signal);
    let refresh = this.inflight.get(key);
    if (!refresh) {
      refresh = this.refresh(target, key).finally(() => this.inflight.delete(key));
      this.inflight.set(key, refresh);
    }
    return (await untilAborted(refresh, signal, target.provider.id)).token;
  }

  async invalidate(target: DeploymentTarget, token: string): Promise<void> {
    const key = this.issuer.keyOf(target);
    if (this.local.get(key)?.token === token) this.local.delete(key);
    await this.bestEffort(async () => {
      if (parseCached(await this.store.get(key))?.token === token) await this.store.delete(key);
    }, undefined);
  }

  private isFresh(cached: CachedToken): boolean {
    return this.now() < cached.refreshAt;
  }

  private async refresh(target: DeploymentTarget, key: string): Promise<CachedToken> {
    const shared = await this.readStore(key);
    if (shared) return this.remember(key, shared);

    let lock = await this.tryLock(key);
    if (lock === null) {
      const deadline = this.now() + this.lockWaitMs;
      while (lock === null && this.now() < deadline) {
        await delay(this.lockPollMs);
        const theirs = await this.readStore(key);
        if (theirs) return this.remember(key, theirs);
        lock = await this.tryLock(key);
      }
    }
    try {
      if (lock) {
        const justStored = await this.readStore(key);
        if (justStored) return this.remember(key, justStored);
      }
      const issued = await this.issuer.issue(target);
      // A token living less than twice the margin (test emulators) is refreshed at half its life.
      const margin = Math.min(this.refreshMarginMs, Math.max(0, (issued.expiresAt - this.now()) / 2));
      const fetched: CachedToken = { ...issued, refreshAt: issued.expiresAt - margin };
      const ttlMs = fetched.refreshAt - this.now();
      if (ttlMs > 0) await this.bestEffort(() => this.store.set(key, JSON.stringify(fetched), ttlMs), undefined);
      return this.remember(key, fetched);
    } finally {
      if (lock) await lock.release().catch(() => undefined);
    }
  }

  private remember(key: string, cached: CachedToken): CachedToken {
    if (this.isFresh(cached)) this.local.set(key, cached);
    return cached;
  }

  private async bestEffort<T>(call: () => Promise<T>, fallback: T): Promise<T> {
    try {
      const result = await call();
      this.outage.answered();
      return result;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      return fallback;
    }
  }

  private async readStore(key: string): Promise<CachedToken | null> {
    const cached = parseCached(await this.bestEffort(() => this.store.get(key), null));
    return cached && this.isFresh(cached) ? cached : null;
  }

  private tryLock(key: string): Promise<StoreLock | null | undefined> {
    return this.bestEffort<StoreLock | null | undefined>(
      () => this.store.acquireLock(`${key}:refresh`, this.lockTtlMs),
      undefined,
    );
  }
}
