import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { StoreOutageLog, StoreUnavailableError, type Store, type StoreLock } from '@xrouter/store';
import type { UpstreamHttpClient } from '../http/upstream-http.client';
import { transportError } from '../http/upstream-error';
import type { DeploymentTarget } from '../llm-provider.interface';
import type { GigaChatTokenResponse } from './gigachat.types';

/** The official OAuth endpoint, used when the provider config has no `auth_url`. */
export const GIGACHAT_DEFAULT_AUTH_URL = 'https://ngw.devices.sberbank.ru:9443/api/v2/oauth';
export const GIGACHAT_DEFAULT_SCOPE = 'GIGACHAT_API_PERS';

export interface GigaChatTokenCacheOptions {
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
  /** Deadline of one OAuth call (default 10 s); not tied to any caller, since callers share the refresh. */
  oauthTimeoutMs?: number;
}

interface CachedToken {
  token: string;
  /** When GigaChat stops accepting it (epoch ms). */
  expiresAt: number;
  /** When the gateway stops handing it out (epoch ms): `expiresAt` minus the refresh margin. */
  refreshAt: number;
}

/** `expires_at` is documented (and sent) in milliseconds; a seconds value (REST page example, legacy `exp`) is scaled. */
const SECONDS_LIMIT = 100_000_000_000;

function toEpochMs(value: number): number {
  return value < SECONDS_LIMIT ? value * 1000 : value;
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
 * GigaChat access tokens per credential (auth URL, scope, authorization key), shared by every replica through the
 * store and kept in-process until the refresh margin so a hot path skips the store round trip.
 *
 * Single-flight: concurrent callers of one process share one in-flight refresh; across replicas the refresh takes a
 * store lock, and a replica that did not get it polls the store for the holder's token (up to `lockWaitMs`, then it
 * refreshes itself). The store is best effort: when it cannot answer, tokens are still fetched and cached in-process
 * (said once per outage in the log).
 * The store key is a SHA-256 of the credential, never the key itself; tokens and keys are never logged.
 */
export class GigaChatTokenCache {
  private readonly outage = new StoreOutageLog(
    new Logger('GigaChatTokenCache'),
    null,
    'gigachat_token',
    'GigaChat tokens are cached per process and refreshed without the cross-replica lock',
  );
  private readonly local = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly now: () => number;
  private readonly refreshMarginMs: number;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  private readonly lockPollMs: number;
  private readonly oauthTimeoutMs: number;

  constructor(
    private readonly http: UpstreamHttpClient,
    private readonly store: Store,
    options: GigaChatTokenCacheOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.refreshMarginMs = options.refreshMarginMs ?? 60_000;
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
    this.lockWaitMs = options.lockWaitMs ?? 5_000;
    this.lockPollMs = options.lockPollMs ?? 50;
    this.oauthTimeoutMs = options.oauthTimeoutMs ?? 10_000;
  }

  /** The store key of a credential: a SHA-256 of the OAuth URL, the scope and the authorization key. */
  static keyOf(target: DeploymentTarget): string {
    const { provider, account } = target;
    const digest = createHash('sha256')
      .update(`${provider.auth_url ?? GIGACHAT_DEFAULT_AUTH_URL}\n${account.scope ?? GIGACHAT_DEFAULT_SCOPE}\n`)
      .update(account.auth_key ?? '')
      .digest('hex');
    return `gigachat:token:${digest}`;
  }

  /** A live token for the target's account: in-process copy, else the store, else one (shared) OAuth call. */
  async token(target: DeploymentTarget, signal: AbortSignal): Promise<string> {
    const key = GigaChatTokenCache.keyOf(target);
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
    const key = GigaChatTokenCache.keyOf(target);
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
      const fetched = await this.fetchToken(target);
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

  /** One OAuth call. A 400/401/403 there means the gateway's own credentials are wrong: UPSTREAM_AUTH. */
  private async fetchToken(target: DeploymentTarget): Promise<CachedToken> {
    const { provider, account } = target;
    if (!account.auth_key) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${provider.id}/${account.id}: no GigaChat auth_key is configured`,
      );
    }
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new GatewayError(ErrorCode.TIMEOUT, `${provider.id}: the OAuth call timed out`)),
      this.oauthTimeoutMs,
    );
    let answer: GigaChatTokenResponse;
    try {
      answer = await this.http.sendJson<GigaChatTokenResponse>(provider, {
        method: 'POST',
        url: provider.auth_url ?? GIGACHAT_DEFAULT_AUTH_URL,
        headers: {
          authorization: `Basic ${account.auth_key}`,
          rquid: randomUUID(),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ scope: account.scope ?? GIGACHAT_DEFAULT_SCOPE }).toString(),
        signal: controller.signal,
      });
    } catch (error) {
      const status = error instanceof GatewayError ? error.upstreamStatus : undefined;
      if (status === 400 || status === 401 || status === 403) {
        throw new GatewayError(
          ErrorCode.UPSTREAM_AUTH,
          `${provider.id}: the GigaChat OAuth host refused the gateway's credentials (HTTP ${status})`,
          { upstreamStatus: status, cause: error },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
    const token = answer.access_token ?? answer.tok;
    const expires = answer.expires_at ?? answer.exp;
    if (typeof token !== 'string' || token === '' || typeof expires !== 'number' || !Number.isFinite(expires)) {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider.id}: the OAuth answer has no usable token`);
    }
    const now = this.now();
    const expiresAt = toEpochMs(expires);
    // A token living less than twice the margin (only seen with test emulators) is refreshed at half its life.
    const margin = Math.min(this.refreshMarginMs, Math.max(0, (expiresAt - now) / 2));
    return { token, expiresAt, refreshAt: expiresAt - margin };
  }
}
