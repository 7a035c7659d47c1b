import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { assertInteger, assertLimitChecks, toTtlMs } from './store-arguments';
import type {
  ConsumeResult,
  CounterResult,
  LimitCheck,
  LimitCheckResult,
  LimitsResult,
  Store,
  StoreLock,
  Unsubscribe,
} from './store.interface';
import { errorMessage, StoreUnavailableError } from './store-unavailable.error';

export interface MemoryStoreOptions {
  /** Clock in epoch milliseconds; tests inject a fake one to expire keys without sleeping. */
  now?: () => number;
  /** How often expired keys nobody reads again are dropped (default 30 s). */
  sweepIntervalMs?: number;
}

interface Entry {
  value: string;
  /** Epoch ms at which the entry disappears; null for no expiry. */
  expiresAt: number | null;
}

/** One evaluated limit of a `consumeLimits` call: its state without and with the hit, and how to count the hit. */
interface EvaluatedLimit {
  before: LimitCheckResult;
  after: LimitCheckResult;
  commit: () => void;
}

/** Tolerance for float rounding in bucket arithmetic (same as the Redis script). */
const EPSILON = 1e-6;

/** Whole milliseconds, rounded up but forgiving float noise, never negative. */
function ceilMs(ms: number): number {
  return Math.max(0, Math.ceil(ms - EPSILON));
}

interface Subscription {
  handler: (message: string) => void;
}

/**
 * The in-process store of the single-replica embedded default: a Map with lazy expiry (checked on every read) plus
 * one unref'd sweep timer for keys nobody reads again. Pub/sub and locks only span this process, which is exactly
 * why more than one replica needs Redis.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly logger = new Logger('Store');
  private readonly entries = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Subscription>>();
  private readonly now: () => number;
  private sweepTimer: NodeJS.Timeout | null;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? 30_000);
    this.sweepTimer.unref();
  }

  get(key: string): Promise<string | null> {
    return this.run('get', () => this.live(key)?.value ?? null);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.run('set', () => {
      const expiresAt = ttlMs === undefined ? null : this.now() + toTtlMs(ttlMs);
      this.entries.set(key, { value, expiresAt });
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run('setIfAbsent', () => {
      const expiresAt = this.now() + toTtlMs(ttlMs);
      if (this.live(key)) return false;
      this.entries.set(key, { value, expiresAt });
      return true;
    });
  }

  delete(key: string): Promise<void> {
    return this.run('delete', () => {
      this.entries.delete(key);
    });
  }

  increment(key: string, by: number, ttlMs: number): Promise<CounterResult> {
    return this.run('increment', () => {
      assertInteger(by, 'by');
      const ttl = toTtlMs(ttlMs);
      const entry = this.counter(key, ttl);
      const value = toInteger(entry.value) + by;
      entry.value = String(value);
      return { value, ttlMs: this.ttlOf(entry) };
    });
  }

  consume(key: string, cost: number, limit: number, windowMs: number): Promise<ConsumeResult> {
    return this.run('consume', () => {
      assertInteger(cost, 'cost', 0);
      assertInteger(limit, 'limit', 0);
      const window = toTtlMs(windowMs, 'windowMs');
      const existing = this.live(key);
      const current = existing ? toInteger(existing.value) : 0;
      if (current + cost > limit) {
        if (existing && existing.expiresAt === null) existing.expiresAt = this.now() + window;
        return { allowed: false, value: current, ttlMs: existing ? this.ttlOf(existing) : window };
      }
      const entry = this.counter(key, window);
      const value = current + cost;
      entry.value = String(value);
      return { allowed: true, value, ttlMs: this.ttlOf(entry) };
    });
  }

  consumeLimits(checks: readonly LimitCheck[]): Promise<LimitsResult> {
    return this.run('consumeLimits', () => {
      assertLimitChecks(checks);
      const now = this.now();
      const evaluated = checks.map((check) => this.evaluate(check, now));
      const allowed = evaluated.every((limit) => limit.before.allowed);
      if (allowed) for (const limit of evaluated) limit.commit();
      return { allowed, checks: evaluated.map((limit) => (allowed ? limit.after : limit.before)) };
    });
  }

  publish(channel: string, message: string): Promise<void> {
    return this.run('publish', () => {
      const subscriptions = this.channels.get(channel);
      if (!subscriptions) return;
      for (const subscription of subscriptions) {
        // Asynchronous like Redis; skipped if the subscriber left before delivery.
        queueMicrotask(() => {
          if (subscriptions.has(subscription)) this.deliver(channel, subscription, message);
        });
      }
    });
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    return this.run('subscribe', () => {
      const subscription: Subscription = { handler };
      let subscriptions = this.channels.get(channel);
      if (!subscriptions) {
        subscriptions = new Set();
        this.channels.set(channel, subscriptions);
      }
      subscriptions.add(subscription);
      const unsubscribe: Unsubscribe = () => {
        const current = this.channels.get(channel);
        if (current?.delete(subscription) && current.size === 0) this.channels.delete(channel);
        return Promise.resolve();
      };
      return unsubscribe;
    });
  }

  acquireLock(key: string, ttlMs: number): Promise<StoreLock | null> {
    return this.run('acquireLock', () => {
      const expiresAt = this.now() + toTtlMs(ttlMs);
      if (this.live(key)) return null;
      const token = randomUUID();
      this.entries.set(key, { value: token, expiresAt });
      const release = (): Promise<void> =>
        this.run('releaseLock', () => {
          if (this.live(key)?.value === token) this.entries.delete(key);
        });
      return { key, release };
    });
  }

  ping(): Promise<void> {
    return this.run('ping', () => undefined);
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.entries.clear();
    this.channels.clear();
    return Promise.resolve();
  }

  /** Drops every expired entry; runs on the sweep timer. */
  sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(key);
    }
  }

  /** Runs `operation` as a store call: rejected once closed, and a thrown error becomes a rejection. */
  private run<T>(operation: string, body: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      if (this.closed) throw new StoreUnavailableError(operation, new Error('the store is closed'));
      resolve(body());
    });
  }

  /** The same arithmetic as the Redis script's CONSUME_LIMITS, on this store's clock. */
  private evaluate(check: LimitCheck, now: number): EvaluatedLimit {
    const existing = this.live(check.key);
    switch (check.type) {
      case 'window': {
        const window = toTtlMs(check.windowMs, 'windowMs');
        if (existing && existing.expiresAt === null) existing.expiresAt = now + window;
        const current = existing ? toInteger(existing.value) : 0;
        const ttl = existing ? this.ttlOf(existing) : null;
        const ok = current + check.cost <= check.limit;
        return {
          before: {
            allowed: ok,
            remaining: Math.max(0, check.limit - current),
            resetMs: ttl ?? 0,
            retryAfterMs: ok ? 0 : (ttl ?? window),
          },
          after: {
            allowed: true,
            remaining: check.limit - current - check.cost,
            resetMs: ttl ?? window,
            retryAfterMs: 0,
          },
          commit: () => {
            this.counter(check.key, window).value = String(current + check.cost);
          },
        };
      }
      case 'bucket': {
        const interval = 1000 / check.ratePerSec;
        const burstMs = check.burst * interval;
        const stored = existing ? Number(existing.value) : now;
        const tat = Math.max(Number.isFinite(stored) ? stored : now, now);
        const newTat = tat + check.cost * interval;
        const ok = newTat - now <= burstMs + EPSILON;
        const remaining = (t: number): number =>
          Math.min(check.burst, Math.max(0, Math.floor((burstMs - (t - now)) / interval + EPSILON)));
        return {
          before: {
            allowed: ok,
            remaining: remaining(tat),
            resetMs: ceilMs(tat - now),
            retryAfterMs: ok ? 0 : Math.max(1, ceilMs(newTat - now - burstMs)),
          },
          after: { allowed: true, remaining: remaining(newTat), resetMs: ceilMs(newTat - now), retryAfterMs: 0 },
          commit: () => {
            this.entries.set(check.key, {
              value: newTat.toFixed(3),
              expiresAt: now + Math.max(1, ceilMs(newTat - now)),
            });
          },
        };
      }
      case 'cap': {
        const current = existing ? toInteger(existing.value) : 0;
        const resetMs = existing ? Math.max(0, this.ttlOf(existing)) : 0;
        const ok = current < check.limit;
        const state = {
          allowed: ok,
          remaining: Math.max(0, check.limit - current),
          resetMs,
          retryAfterMs: ok ? 0 : Math.max(1, resetMs),
        };
        return { before: state, after: state, commit: () => undefined };
      }
    }
  }

  /** The entry at `key` unless it expired (an expired one is removed on the way). */
  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** The counter at `key`, created at 0 with `ttlMs` expiry when absent; a key without expiry gets one. */
  private counter(key: string, ttlMs: number): Entry {
    let entry = this.live(key);
    if (!entry) {
      entry = { value: '0', expiresAt: null };
      this.entries.set(key, entry);
    }
    if (entry.expiresAt === null) entry.expiresAt = this.now() + ttlMs;
    return entry;
  }

  private ttlOf(entry: Entry): number {
    return entry.expiresAt === null ? -1 : Math.max(0, entry.expiresAt - this.now());
  }

  private deliver(channel: string, subscription: Subscription, message: string): void {
    try {
      subscription.handler(message);
    } catch (error) {
      this.logger.error(`Subscriber of "${channel}" threw: ${errorMessage(error)}`);
    }
  }
}

function toInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new TypeError('value is not an integer or out of range');
  return parsed;
}
