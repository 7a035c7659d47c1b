import { HealthIndicatorService } from '@nestjs/terminus';
import { EventLoopHealthIndicator } from './dependency-health.indicators';
import { EventLoopMonitor } from './event-loop.monitor';

const block = (ms: number) => {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // a synchronous stretch of work, as a runaway request would do
  }
};
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('EventLoopHealthIndicator', () => {
  let monitor: EventLoopMonitor;

  beforeEach(() => (monitor = new EventLoopMonitor()));
  afterEach(() => monitor.onModuleDestroy());

  it('should be up while the loop runs on time and down once it lagged past the bound', async () => {
    const indicator = new EventLoopHealthIndicator(new HealthIndicatorService(), monitor, { maxEventLoopLagMs: 200 });
    await tick(100);
    expect(indicator.check().event_loop.status).toBe('up');
    block(450);
    await tick(50);
    const lagging = indicator.check().event_loop;
    expect(lagging.status).toBe('down');
    expect(lagging.lag_ms).toBeGreaterThanOrEqual(300);
  });
});
