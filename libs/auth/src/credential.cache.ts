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

  /** undefined = not cached (or too old); null = cached as unknown. */
  get(hash: string): Principal | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry || entry.until <= this.now()) return undefined;
    return entry.principal;
  }

  /**
   * The last known principal however old, for when the database cannot be asked. Revocations delete entries, so a
   * revoked credential is never served from here.
   */
  stale(hash: string): Principal | null | undefined {
    return this.entries.get(hash)?.principal;
  }

  set(hash: string, principal: Principal | null): void {
    this.entries.delete(hash); // re-inserted last, so eviction stays oldest-first
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
