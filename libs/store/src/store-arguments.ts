/** Argument checks shared by both stores, so a bad call fails the same way whichever store is in use. */

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
