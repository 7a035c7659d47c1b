import type { Principal } from './principal';

interface Entry {
  principal: Principal | null;
  until: number;
}

/**
 * Resolved credentials by hash, in process, for a short time: the request path never waits on the database for a
 * key it has seen. Unknown hashes are remembered briefly too, so a flood of bad keys cannot hammer the database.
 * Bounded: the oldest entries go first.
 */
export class CredentialCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly negativeTtlMs = Math.min(ttlMs, 5_000),
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined = not cached; null = cached as unknown. */
  get(hash: string): Principal | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.until <= this.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.principal;
  }

  set(hash: string, principal: Principal | null): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(hash, { principal, until: this.now() + (principal ? this.ttlMs : this.negativeTtlMs) });
  }

  delete(hash: string): void {
    this.entries.delete(hash);
  }

  clear(): void {
    this.entries.clear();
  }
}
