import { ErrorCode, GatewayError } from '@xrouter/common';

/** Gives the slot back; idempotent. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
}

interface Gate {
  active: number;
  readonly queue: Waiter[];
}

/**
 * At most `limit` calls per key at once in this process; a call beyond it waits in line (first come, first served)
 * up to `maxWaitMs`, then is refused with RATE_LIMITED and a Retry-After, which the router treats like a provider's
 * own 429 (another deployment may take the request). Yandex counts its quota of concurrent generations per folder
 * across every client, so with several replicas each one holds its own share: the limit is per process.
 */
export class InFlightLimiter {
  private readonly gates = new Map<string, Gate>();

  constructor(private readonly maxWaitMs = 2_000) {}

  /** Calls in flight for `key` (for tests and metrics). */
  active(key: string): number {
    return this.gates.get(key)?.active ?? 0;
  }

  /** Resolves with a release once a slot is free; rejects after `maxWaitMs` (RATE_LIMITED) or when `signal` aborts. */
  acquire(key: string, limit: number, signal: AbortSignal, describe: () => string): Promise<Release> {
    const gate = this.gates.get(key) ?? { active: 0, queue: [] };
    this.gates.set(key, gate);
    if (gate.active < limit && gate.queue.length === 0) {
      gate.active++;
      return Promise.resolve(this.releaser(key, gate));
    }
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<Release>((resolve, reject) => {
      const waiter: Waiter = {
        grant: (release) => {
          cleanup();
          resolve(release);
        },
      };
      const leave = (error: Error): void => {
        const index = gate.queue.indexOf(waiter);
        if (index !== -1) gate.queue.splice(index, 1);
        cleanup();
        reject(error);
      };
      const timer = setTimeout(
        () =>
          leave(
            new GatewayError(ErrorCode.RATE_LIMITED, `${describe()}: ${limit} generations already in flight`, {
              retryAfterMs: 1_000,
            }),
          ),
        this.maxWaitMs,
      );
      const onAbort = (): void => leave(signal.reason as Error);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      gate.queue.push(waiter);
    });
  }

  private releaser(key: string, gate: Gate): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = gate.queue.shift();
      if (next) {
        next.grant(this.releaser(key, gate));
        return;
      }
      gate.active--;
      if (gate.active === 0) this.gates.delete(key);
    };
  }
}
