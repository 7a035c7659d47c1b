import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { StoreOutageLog, StoreUnavailableError, type Store, type StoreLock } from '@xrouter/store';
import { ErrorCode, GatewayError } from '@xrouter/common';
import type { ProviderConfig } from '@xrouter/config';
import { transportError } from '../http/upstream-error';
import type { UpstreamHttpClient, UpstreamRequest } from '../http/upstream-http.client';
import type { DeploymentTarget } from '../llm-provider.interface';

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

/** A token as its issuer gave it. */
export interface IssuedToken {
  token: string;
  /** When the upstream stops accepting it (epoch ms). */
  expiresAt: number;
  /** Hand it out no later than this (epoch ms), when the issuer advises refreshing earlier than the expiry. */
  refreshBy?: number;
}

interface CachedToken {
  token: string;
  /** When the upstream stops accepting it (epoch ms). */
  expiresAt: number;
  /** When the gateway stops handing it out (epoch ms): `expiresAt` minus the refresh margin. */
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

/** Resolves like `promise`, or rejects as soon as `signal` aborts (the shared promise keeps running for the others). */
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
 * Short-lived upstream tokens per credential (GigaChat OAuth tokens, Yandex IAM tokens), shared by every replica
 * through the store and kept in-process until the refresh margin so a hot path skips the store round trip.
 *
 * Single-flight: concurrent callers of one process share one in-flight refresh; across replicas the refresh takes a
 * store lock, and a replica that did not get it polls the store for the holder's token (up to `lockWaitMs`, then it
 * refreshes itself). The store is best effort: when it cannot answer, tokens are still fetched and cached in-process
 * (said once per outage in the log).
 * Subclasses name the credential (`keyOf`: a digest, never the secret itself) and fetch a token (`issue`); tokens and
 * keys are never logged.
 */
export abstract class SharedTokenCache {
  private readonly outage: StoreOutageLog;
  private readonly local = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  protected readonly now: () => number;
  private readonly refreshMarginMs: number;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly lockPollMs: number;

  /**
   * `name`: the cache in the store outage log and metric (`gigachat_token`); `outageNote`: what a store outage means
   * for these tokens, said once per outage.
   */
  protected constructor(
    private readonly store: Store,
    name: string,
    outageNote: string,
    options: SharedTokenCacheOptions = {},
  ) {
    this.outage = new StoreOutageLog(new Logger(new.target.name), null, name, outageNote);
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.lockWaitMs = options.lockWaitMs ?? 5_000;
    this.lockPollMs = options.lockPollMs ?? 50;
  }

  /** The store key of the target's credential. */
  protected abstract keyOf(target: DeploymentTarget): string;

  /**
   * One call to a token endpoint with its own deadline (callers share it, so no caller's signal): a 400/401/403 there
   * means the gateway's credential is wrong or revoked, UPSTREAM_AUTH with `refused(status)` as its message.
   */
  protected async exchange<T>(
    http: UpstreamHttpClient,
    provider: ProviderConfig,
    request: Omit<UpstreamRequest, 'signal'>,
    deadline: { ms: number; message: string },
    refused: (status: number) => string,
  ): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new GatewayError(ErrorCode.TIMEOUT, deadline.message)),
      deadline.ms,
    );
    try {
      return await http.sendJson<T>(provider, { ...request, signal: controller.signal });
    } catch (error) {
      const status = error instanceof GatewayError ? error.upstreamStatus : undefined;
      if (status === 400 || status === 401 || status === 403) {
        throw new GatewayError(ErrorCode.UPSTREAM_AUTH, refused(status), { upstreamStatus: status, cause: error });
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One call to the token issuer; not tied to any caller's signal, since callers share the refresh. */
  protected abstract issue(target: DeploymentTarget): Promise<IssuedToken>;

  /** A live token for the target's account: in-process copy, else the store, else one (shared) issuer call. */
  async token(target: DeploymentTarget, signal: AbortSignal): Promise<string> {
    const key = this.keyOf(target);
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

  /** Forgets `token` after the API refused it, unless a newer token already replaced it (here or in the store). */
  async invalidate(target: DeploymentTarget, token: string): Promise<void> {
    const key = this.keyOf(target);
    if (this.local.get(key)?.token === token) this.local.delete(key);
    await this.bestEffort(async () => {
      if (parseCached(await this.store.get(key))?.token === token) await this.store.delete(key);
    }, undefined);
  }

  /** Runs `call` with a live token; when `refused(error)` (the API's 401), drops that token and runs `call` once more. */
  async withToken<T>(
    target: DeploymentTarget,
    signal: AbortSignal,
    refused: (error: unknown) => boolean,
    call: (token: string) => Promise<T>,
  ): Promise<T> {
    const token = await this.token(target, signal);
    try {
      return await call(token);
    } catch (error) {
      if (!refused(error)) throw error;
      await this.invalidate(target, token);
      let fresh = await this.token(target, signal);
      if (fresh === token) {
        // A refresh that started before the drop may have read the refused token back from the store.
        await this.invalidate(target, token);
        fresh = await this.token(target, signal);
      }
      return call(fresh);
    }
  }

  private isFresh(cached: CachedToken): boolean {
    return this.now() < cached.refreshAt;
  }

  private async refresh(target: DeploymentTarget, key: string): Promise<CachedToken> {
    const shared = await this.readStore(key);
    if (shared) return this.remember(key, shared);

    let lock = await this.tryLock(key);
    if (lock === null) {
      // Another replica is refreshing: wait for its token, or for the lock to come free, up to lockWaitMs.
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
        // The previous holder may have stored a token between our read and our lock.
        const justStored = await this.readStore(key);
        if (justStored) return this.remember(key, justStored);
      }
      const fetched = this.schedule(await this.issue(target));
      const ttlMs = fetched.refreshAt - this.now();
      if (ttlMs > 0) await this.bestEffort(() => this.store.set(key, JSON.stringify(fetched), ttlMs), undefined);
      return this.remember(key, fetched);
    } finally {
      if (lock) await lock.release().catch(() => undefined);
    }
  }

  /** When to stop handing the token out: the margin before expiry (at most half its life), or the issuer's advice. */
  private schedule(issued: IssuedToken): CachedToken {
    const { token, expiresAt } = issued;
    // A token living less than twice the margin (only seen with test emulators) is refreshed at half its life.
    const margin = Math.min(this.refreshMarginMs, Math.max(0, (expiresAt - this.now()) / 2));
    return { token, expiresAt, refreshAt: Math.min(expiresAt - margin, issued.refreshBy ?? Infinity) };
  }

  private remember(key: string, cached: CachedToken): CachedToken {
    if (this.isFresh(cached)) this.local.set(key, cached);
    return cached;
  }

  /** `call`'s result, or `fallback` when the store cannot answer (counted in the outage log). */
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

  /** The lock, null when another replica holds it, `undefined` when the store cannot answer (refresh unlocked). */
  private tryLock(key: string): Promise<StoreLock | null | undefined> {
    return this.bestEffort<StoreLock | null | undefined>(
      () => this.store.acquireLock(`${key}:refresh`, this.lockTtlMs),
      undefined,
    );
  }
}
