import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** How often the lag window turns over; the lag reported covers the current and the previous window. */
const WINDOW_MS = 5_000;

/**
 * How late this process's event loop runs, from Node's own delay histogram (sampled every 20 ms, no work on the
 * request path): the worst delay of the last 5–10 s. A process whose loop lags seconds cannot answer in time, so
 * readiness takes it out of the Service until it recovers.
 */
@Injectable()
export class EventLoopMonitor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private previousMaxMs = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.histogram.enable();
    this.timer = setInterval(() => this.turnOver(), WINDOW_MS);
    this.timer.unref();
  }

  /** Start-up (migrations, module graph) is not lag: measuring starts over once the application is up. */
  onApplicationBootstrap(): void {
    this.previousMaxMs = 0;
    this.histogram.reset();
  }

  /** The worst event-loop delay of the last window or two, in milliseconds. */
  lagMs(): number {
    return Math.max(this.previousMaxMs, this.currentMaxMs());
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.histogram.disable();
  }

  private currentMaxMs(): number {
    // The histogram counts in nanoseconds, and its max includes the sampling resolution itself.
    return this.histogram.count === 0 ? 0 : Math.max(0, this.histogram.max / 1e6 - 20);
  }

  private turnOver(): void {
    this.previousMaxMs = this.currentMaxMs();
    this.histogram.reset();
  }
}
