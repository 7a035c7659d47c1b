/** Argument checks shared by both stores, so a bad call fails the same way whichever store is in use. */
import type { LimitCheck } from './store.interface';

/** A TTL as the whole number of milliseconds both stores use (rounded up); throws on zero, negative or NaN. */
export function toTtlMs(ttlMs: number, name = 'ttlMs'): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new RangeError(`${name} must be a positive number, got ${ttlMs}`);
  return Math.ceil(ttlMs);
}

/** Throws unless `value` is a safe integer no lower than `min`. */
export function assertInteger(value: number, name: string, min = Number.MIN_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer${min === 0 ? ' >= 0' : ''}, got ${value}`);
  }
}

/** The `{hash tag}` of a key as Redis Cluster computes it (the first `{…}` with something inside), or null. */
export function hashTag(key: string): string | null {
  const open = key.indexOf('{');
  if (open < 0) return null;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : null;
}

/** Validates a `consumeLimits` call (both stores run it first); throws RangeError or TypeError. */
export function assertLimitChecks(checks: readonly LimitCheck[]): void {
  if (checks.length === 0) throw new RangeError('consumeLimits needs at least one check');
  const keys = new Set(checks.map((check) => check.key));
  if (keys.size !== checks.length) throw new TypeError('consumeLimits needs a distinct key per check');
  if (checks.length > 1) {
    const tag = hashTag(checks[0].key);
    if (tag === null || checks.some((check) => hashTag(check.key) !== tag)) {
      throw new TypeError('the keys of one consumeLimits call must share a {hash tag}');
    }
  }
  for (const check of checks) {
    switch (check.type) {
      case 'window':
        assertInteger(check.cost, 'cost', 0);
        assertInteger(check.limit, 'limit', 0);
        toTtlMs(check.windowMs, 'windowMs');
        break;
      case 'bucket':
        if (!Number.isFinite(check.ratePerSec) || check.ratePerSec <= 0) {
          throw new RangeError(`ratePerSec must be a positive number, got ${check.ratePerSec}`);
        }
        assertInteger(check.burst, 'burst', 1);
        assertInteger(check.cost, 'cost', 0);
        if (check.cost > check.burst)
          throw new RangeError(`cost ${check.cost} can never fit a burst of ${check.burst}`);
        break;
      case 'cap':
        assertInteger(check.limit, 'limit', 0);
        break;
    }
  }
}
