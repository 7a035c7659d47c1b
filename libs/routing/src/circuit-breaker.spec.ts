import { CircuitBreaker, type BreakerState } from './circuit-breaker';

const config = { failure_threshold: 3, window_ms: 10_000, cooldown_ms: 5_000, half_open_probes: 2 };

describe('CircuitBreaker', () => {
  let now: number;
  let transitions: Array<[BreakerState, BreakerState]>;
  let breaker: CircuitBreaker;

  beforeEach(() => {
    now = 1_000_000;
    transitions = [];
    breaker = new CircuitBreaker(
      config,
      () => now,
      (from, to) => transitions.push([from, to]),
    );
  });

  const fail = (times: number) => {
    for (let i = 0; i < times; i++) breaker.onFailure();
  };

  it('should stay closed below the threshold and open at it', () => {
    fail(2);
    expect(breaker.state).toBe('closed');
    fail(1);
    expect(breaker.state).toBe('open');
    expect(breaker.tryAcquire()).toBe(false);
    expect(transitions).toEqual([['closed', 'open']]);
  });

  it('should forget failures older than the window', () => {
    fail(2);
    now += 10_001;
    fail(1);
    expect(breaker.state).toBe('closed');
  });

  it('should half-open after the cooldown with exactly the configured probes', () => {
    fail(3);
    now += 4_999;
    expect(breaker.tryAcquire()).toBe(false);
    now += 1;
    expect(breaker.state).toBe('half-open');
    expect([breaker.tryAcquire(), breaker.tryAcquire(), breaker.tryAcquire()]).toEqual([true, true, false]);
  });

  it('should close when a probe succeeds', () => {
    fail(3);
    now += 5_000;
    breaker.tryAcquire();
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
    expect(transitions).toEqual([
      ['closed', 'open'],
      ['open', 'half-open'],
      ['half-open', 'closed'],
    ]);
  });

  it('should reopen for a full cooldown when a probe fails', () => {
    fail(3);
    now += 5_000;
    breaker.tryAcquire();
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    now += 4_999;
    expect(breaker.state).toBe('open');
    now += 1;
    expect(breaker.state).toBe('half-open');
  });

  it('should give an abandoned probe back', () => {
    fail(3);
    now += 5_000;
    breaker.tryAcquire();
    breaker.tryAcquire();
    breaker.onAbandoned();
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('should follow other replicas: open from their opening time, close on their success', () => {
    breaker.openFrom(now - 4_000);
    expect(breaker.state).toBe('open');
    now += 1_000;
    expect(breaker.state).toBe('half-open');
    breaker.closeFrom();
    expect(breaker.state).toBe('closed');
  });

  it('should ignore successes while closed and failures while open', () => {
    breaker.onSuccess();
    fail(3);
    fail(5);
    expect(transitions).toEqual([['closed', 'open']]);
  });
});
