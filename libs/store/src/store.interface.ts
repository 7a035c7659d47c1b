/** The outcome of an {@link Store.increment}. */
export interface CounterResult {
  /** The counter's value after the increment. */
  value: number;
  /** Milliseconds until the counter expires (and the next increment starts again from 0). */
  ttlMs: number;
}

/** The outcome of a {@link Store.consume}: one fixed-window rate-limit hit. */
export interface ConsumeResult {
  /** Whether the hit fitted under the limit (and was therefore counted). */
  allowed: boolean;
  /** The window's counter after the call (unchanged when the hit was refused). */
  value: number;
  /** Milliseconds until the window ends; a refused caller may retry after this long. */
  ttlMs: number;
}

/** A fixed window of {@link Store.consume}: `cost` counted if the window's count + cost stays within `limit`. */
export interface WindowLimitCheck {
  readonly type: 'window';
  readonly key: string;
  readonly cost: number;
  readonly limit: number;
  /** The window starts with its first counted hit and is not extended by later hits. */
  readonly windowMs: number;
}

/**
 * A token bucket (as GCRA, so the state is one timestamp): `burst` requests at once, refilled at `ratePerSec`.
 * Time is the store's own clock (Redis `TIME`), so replicas with skewed clocks share one bucket correctly.
 */
export interface BucketLimitCheck {
  readonly type: 'bucket';
  readonly key: string;
  /** At most `burst`. */
  readonly cost: number;
  readonly ratePerSec: number;
  readonly burst: number;
}

/** A read-only cap on a counter written by {@link Store.increment}: passes while the counter is below `limit`. */
export interface CapLimitCheck {
  readonly type: 'cap';
  readonly key: string;
  readonly limit: number;
}

/** One limit of a {@link Store.consumeLimits} call. */
export type LimitCheck = WindowLimitCheck | BucketLimitCheck | CapLimitCheck;

/** The state of one {@link LimitCheck} after a {@link Store.consumeLimits} call. */
export interface LimitCheckResult {
  /** Whether this limit alone would let the hit through. */
  allowed: boolean;
  /**
   * What is left: hits (window, bucket) or units under the cap, counting this hit when the whole call was allowed
   * and without it when it was refused (a refused call counts nothing).
   */
  remaining: number;
  /** Milliseconds until the limit is fully available again (0 when nothing is used). */
  resetMs: number;
  /** Milliseconds until this limit would let the same hit through; 0 when it does now. */
  retryAfterMs: number;
}

/** The outcome of a {@link Store.consumeLimits} call. */
export interface LimitsResult {
  /** True when every check passed, and the hit was therefore counted by every window and bucket. */
  allowed: boolean;
  /** One result per check, in the order of the checks. */
  checks: LimitCheckResult[];
}

/** A held lock. Expires by itself after its TTL; {@link StoreLock.release} ends it earlier. */
export interface StoreLock {
  /** The key the lock was taken on (without the store's prefix). */
  readonly key: string;
  /** Deletes the lock if this holder still owns it; a no-op once it expired or was taken over. Idempotent. */
  release(): Promise<void>;
}

/** Ends one subscription. Idempotent; a no-op once the store is closed. */
export type Unsubscribe = () => Promise<void>;

/**
 * The key-value, counter, pub/sub and lock store shared by every gateway replica: Redis when several replicas run,
 * in-process for the single-replica embedded default. Keys and channels are plain names; each implementation adds
 * its own prefix. Every call rejects with `StoreUnavailableError` when the backing store cannot answer (Redis down,
 * store closed), so callers choose to fail open or closed.
 */
export interface Store {
  /** Which implementation this is: `redis` (shared across replicas) or `memory` (this process only). */
  readonly kind: 'redis' | 'memory';

  /** The value at `key`, or null when it is absent or expired. */
  get(key: string): Promise<string | null>;

  /** Stores `value` at `key`, replacing any value and expiry; with `ttlMs` the key expires after that many ms. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;

  /** Stores `value` with a `ttlMs` expiry only if `key` is absent; true when it was stored. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;

  /** Removes `key`; nothing happens when it is absent. */
  delete(key: string): Promise<void>;

  /**
   * Atomically add `by` (may be negative); when the key is new (or expired) it starts at 0 and gets `ttlMs` expiry;
   * the expiry is NOT extended by later increments. `by` must be a safe integer (count money in minor units).
   */
  increment(key: string, by: number, ttlMs: number): Promise<CounterResult>;

  /**
   * Atomic fixed-window hit for rate limits in ONE round trip: increments `key` by `cost` only if value+cost <= limit;
   * returns whether it was allowed, the value after, and ttl. The window (`windowMs`) starts with the first hit.
   * A refused hit changes nothing. `cost` and `limit` are non-negative integers.
   */
  consume(key: string, cost: number, limit: number, windowMs: number): Promise<ConsumeResult>;

  /**
   * Several rate limits decided together, atomically and in ONE round trip: the hit is counted by every window and
   * bucket only if every check passes, and by none of them otherwise (a request refused by one limit does not use
   * up another). Keys must be distinct, and when there are several they must share one `{hash tag}` so that a Redis
   * Cluster keeps them on one slot (`rl:{key-id}:rpm`, `rl:{key-id}:burst`); a call breaking either rule throws.
   */
  consumeLimits(checks: readonly LimitCheck[]): Promise<LimitsResult>;

  /** Sends `message` to every current subscriber of `channel`, on every replica. Fire-and-forget: no delivery proof. */
  publish(channel: string, message: string): Promise<void>;

  /**
   * Calls `handler` for each message published on `channel` from the moment the returned promise resolves.
   * Handlers run asynchronously; an exception thrown by a handler is logged, never propagated.
   */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;

  /**
   * Mutual exclusion across replicas; null when somebody else holds it. Release only deletes the lock if this holder
   * still owns it (token compare in a Lua script). The lock expires after `ttlMs` even if never released.
   */
  acquireLock(key: string, ttlMs: number): Promise<StoreLock | null>;

  /** Resolves when the store answers (readiness probes); rejects with `StoreUnavailableError` otherwise. */
  ping(): Promise<void>;

  /** Releases connections and timers. Idempotent; every later call rejects with `StoreUnavailableError`. */
  close(): Promise<void>;
}
