import type { CircuitBreakerConfig } from '@xrouter/config';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures counted in the current window (closed) or since the last probe (half-open). */
  failures: number;
  /** Epoch ms the breaker opened, when open or half-open. */
  openedAt: number | null;
  /** Probes handed out in the current half-open period. */
  probesInFlight: number;
}

/**
 * One deployment's circuit breaker, with an injected clock and no I/O:
 * closed → open after `failure_threshold` failures within `window_ms`; open → half-open once `cooldown_ms` has passed,
 * letting at most `half_open_probes` requests through; half-open → closed when a probe succeeds, back to open when
 * one fails. `onTransition` hears every change of state once.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failureTimes: number[] = [];
  private openedAt: number | null = null;
  private probes = 0;

  constructor(
    readonly config: CircuitBreakerConfig,
    private readonly now: () => number = Date.now,
    private readonly onTransition: (from: BreakerState, to: BreakerState) => void = () => undefined,
  ) {}

  /** The state now (an open breaker whose cooldown has passed reads as half-open). */
  get state(): BreakerState {
    if (this.current === 'open' && this.openedAt !== null && this.now() - this.openedAt >= this.config.cooldown_ms) {
      this.move('half-open');
      this.probes = 0;
    }
    return this.current;
  }

  /** Whether selection may use this deployment now, without taking a probe. */
  isAvailable(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && this.probes < this.config.half_open_probes);
  }

  /** Takes permission for one request: always when closed, one of the probes when half-open, never when open. */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'half-open' && this.probes < this.config.half_open_probes) {
      this.probes++;
      return true;
    }
    return false;
  }

  onSuccess(): void {
    if (this.state === 'half-open') {
      this.failureTimes = [];
      this.openedAt = null;
      this.move('closed');
    }
  }

  onFailure(): void {
    const state = this.state;
    const now = this.now();
    if (state === 'half-open') {
      this.open(now);
      return;
    }
    if (state === 'open') return;
    this.failureTimes = this.failureTimes.filter((t) => now - t < this.config.window_ms);
    this.failureTimes.push(now);
    if (this.failureTimes.length >= this.config.failure_threshold) this.open(now);
  }

  /** An attempt ended without a verdict (the client went away): its probe goes back to the pool. */
  onAbandoned(): void {
    if (this.state === 'half-open' && this.probes > 0) this.probes--;
  }

  /** Closes because a probe succeeded on another replica. */
  closeFrom(): void {
    if (this.current === 'closed') return;
    this.failureTimes = [];
    this.openedAt = null;
    this.probes = 0;
    this.move('closed');
  }

  /** Opens because another replica saw the deployment fail (shared through the store). */
  openFrom(openedAt: number): void {
    if (this.current !== 'open' || (this.openedAt ?? 0) < openedAt) this.open(openedAt);
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    return {
      state,
      failures: this.failureTimes.length,
      openedAt: this.openedAt,
      probesInFlight: state === 'half-open' ? this.probes : 0,
    };
  }

  /** Milliseconds until an open breaker lets its first probe through (0 when it is not open). */
  msUntilProbe(): number {
    if (this.state !== 'open' || this.openedAt === null) return 0;
    return Math.max(0, this.openedAt + this.config.cooldown_ms - this.now());
  }

  private open(at: number): void {
    this.openedAt = at;
    this.failureTimes = [];
    this.probes = 0;
    this.move('open');
  }

  private move(to: BreakerState): void {
    if (this.current === to) return;
    const from = this.current;
    this.current = to;
    this.onTransition(from, to);
  }
}
