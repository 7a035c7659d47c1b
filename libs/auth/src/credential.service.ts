import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { OutageLog, STORE, type Store, type Unsubscribe } from '@xrouter/store';
import { hashSecret } from './api-key-secret';
import { authConfig } from './auth.config';
import { CREDENTIAL_INVALIDATION_CHANNEL } from './auth.constants';
import { CredentialCache } from './credential.cache';
import { announceInvalidations, assertCanAnnounce } from './credential-invalidation';
import { CREDENTIAL_RESOLVERS, type CredentialResolver } from './credential-resolver';
import { LastUsedRecorder } from './last-used.recorder';
import type { Principal } from './principal';

/**
 * Turns a bearer secret into a Principal. Hot path: one SHA-256 and a cache hit. The resolvers (the database) are
 * asked only on a miss; revocations published on the store's channel drop the entry on every replica at once.
 */
@Injectable()
export class CredentialService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CredentialService.name);
  private readonly cache: CredentialCache;
  private readonly inflight = new Map<string, Promise<Principal | null>>();
  private readonly outage = new OutageLog(
    this.logger,
    'The database',
    'credential lookups',
    'credentials seen before are served from the cache, new ones get 503',
  );
  private unsubscribe?: Unsubscribe;

  constructor(
    @Inject(CREDENTIAL_RESOLVERS) private readonly resolvers: CredentialResolver[],
    @Inject(STORE) private readonly store: Store,
    @Inject(authConfig.KEY) config: ConfigType<typeof authConfig>,
    @Optional() private readonly lastUsed?: LastUsedRecorder,
  ) {
    this.cache = new CredentialCache(config.cacheTtlMs);
  }

  async onModuleInit(): Promise<void> {
    this.unsubscribe = await this.store.subscribe(CREDENTIAL_INVALIDATION_CHANNEL, (hash) => {
      if (hash === '*') this.cache.clear();
      else this.cache.delete(hash);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.unsubscribe?.();
  }

  /** The principal for a presented secret, or null when it is unknown, revoked, expired or its user disabled. */
  async authenticate(secret: string): Promise<Principal | null> {
    const hash = hashSecret(secret);
    let principal = this.cache.get(hash);
    if (principal === undefined) {
      principal = await this.loadOnce(hash);
    }
    if (!principal || (principal.expiresAt !== null && principal.expiresAt <= Date.now())) return null;
    if (principal.kind === 'api_key') this.lastUsed?.touch(principal.credentialId);
    return principal;
  }

  /** Announces that a credential changed (revoked, rotated, its user disabled) to every replica. */
  async invalidate(secretHash: string): Promise<void> {
    this.cache.delete(secretHash);
    await this.store.publish(CREDENTIAL_INVALIDATION_CHANNEL, secretHash);
  }

  /** See {@link assertCanAnnounce}: a 503 before anything is written while the store cannot carry the news. */
  assertCanAnnounce(): Promise<void> {
    return assertCanAnnounce(this.store);
  }

  /** Announces several changed credentials to every replica (many at once drop every cache). */
  async invalidateMany(secretHashes: readonly string[]): Promise<void> {
    for (const hash of secretHashes) this.cache.delete(hash);
    await announceInvalidations(this.store, secretHashes);
  }

  /** Drops every cached credential on every replica (a user was disabled, say). */
  async invalidateAll(): Promise<void> {
    this.cache.clear();
    await this.store.publish(CREDENTIAL_INVALIDATION_CHANNEL, '*');
  }

  /** Concurrent misses for the same hash share one lookup. */
  private loadOnce(hash: string): Promise<Principal | null> {
    let pending = this.inflight.get(hash);
    if (!pending) {
      pending = this.load(hash).finally(() => this.inflight.delete(hash));
      this.inflight.set(hash, pending);
    }
    return pending;
  }

  private async load(hash: string): Promise<Principal | null> {
    let principal: Principal | null = null;
    try {
      for (const resolver of this.resolvers) {
        principal = await resolver.resolve(hash);
        if (principal) break;
      }
    } catch (error) {
      // The database is down: a credential seen before keeps working (revocations still reach the cache through the
      // store); one never seen cannot be checked.
      const stale = this.cache.stale(hash);
      this.outage.failed(error as Error);
      if (stale) {
        // Cached again, so the database is asked about it once per TTL while it is down, not on every request.
        this.cache.set(hash, stale);
        return stale;
      }
      throw new GatewayError(
        ErrorCode.SERVICE_UNAVAILABLE,
        'Credentials cannot be checked right now; try again shortly',
        {
          cause: error,
          retryAfterMs: 1_000,
        },
      );
    }
    this.outage.answered();
    this.cache.set(hash, principal);
    if (!principal) this.logger.debug('Unknown or revoked credential presented');
    return principal;
  }
}
