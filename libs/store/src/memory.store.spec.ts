import { MemoryStore } from './memory.store';
import { StoreUnavailableError } from './store-unavailable.error';

describe('MemoryStore', () => {
  let now: number;
  let store: MemoryStore;

  beforeEach(() => {
    now = 1_000_000;
    store = new MemoryStore({ now: () => now });
  });

  afterEach(async () => {
    await store.close();
  });

  it('should expire a key exactly when its TTL has passed', async () => {
    await store.set('k', 'v', 1_000);
    now += 999;
    await expect(store.get('k')).resolves.toBe('v');
    now += 1;
    await expect(store.get('k')).resolves.toBeNull();
  });

  it('should keep a key set without TTL forever', async () => {
    await store.set('k', 'v');
    now += 365 * 24 * 3_600_000;
    await expect(store.get('k')).resolves.toBe('v');
  });

  it('should drop the previous expiry when a key is set again without TTL', async () => {
    await store.set('k', 'a', 1_000);
    await store.set('k', 'b');
    now += 5_000;
    await expect(store.get('k')).resolves.toBe('b');
  });

  it('should let setIfAbsent take a key once the previous value expired', async () => {
    await expect(store.setIfAbsent('k', 'a', 1_000)).resolves.toBe(true);
    await expect(store.setIfAbsent('k', 'b', 1_000)).resolves.toBe(false);
    now += 1_000;
    await expect(store.setIfAbsent('k', 'c', 1_000)).resolves.toBe(true);
    await expect(store.get('k')).resolves.toBe('c');
  });

  it('should not extend a counter expiry on later increments and restart the counter after it', async () => {
    await expect(store.increment('c', 2, 1_000)).resolves.toEqual({ value: 2, ttlMs: 1_000 });
    now += 400;
    await expect(store.increment('c', 3, 1_000)).resolves.toEqual({ value: 5, ttlMs: 600 });
    now += 600;
    await expect(store.increment('c', 1, 1_000)).resolves.toEqual({ value: 1, ttlMs: 1_000 });
  });

  it('should give an expiry to a counter that was set without one', async () => {
    await store.set('c', '10');
    await expect(store.increment('c', 1, 500)).resolves.toEqual({ value: 11, ttlMs: 500 });
    now += 500;
    await expect(store.get('c')).resolves.toBeNull();
  });

  it('should refuse a non-integer increment', async () => {
    await expect(store.increment('c', 0.5, 1_000)).rejects.toThrow(RangeError);
    await expect(store.increment('c', 1, 0)).rejects.toThrow(RangeError);
  });

  it('should open a new rate-limit window when the previous one ends', async () => {
    for (let i = 0; i < 3; i++) await store.consume('w', 1, 3, 60_000);
    now += 59_999;
    await expect(store.consume('w', 1, 3, 60_000)).resolves.toEqual({ allowed: false, value: 3, ttlMs: 1 });
    now += 1;
    await expect(store.consume('w', 1, 3, 60_000)).resolves.toEqual({ allowed: true, value: 1, ttlMs: 60_000 });
  });

  it('should refuse a hit costing more than the limit without creating the window', async () => {
    await expect(store.consume('w', 5, 4, 1_000)).resolves.toEqual({ allowed: false, value: 0, ttlMs: 1_000 });
    await expect(store.get('w')).resolves.toBeNull();
  });

  it('should let another holder take a lock after it expired, and ignore the old holder release', async () => {
    const first = await store.acquireLock('l', 1_000);
    expect(first).not.toBeNull();
    await expect(store.acquireLock('l', 1_000)).resolves.toBeNull();
    now += 1_000;
    const second = await store.acquireLock('l', 1_000);
    expect(second).not.toBeNull();
    await first?.release();
    await expect(store.acquireLock('l', 1_000)).resolves.toBeNull();
    await second?.release();
    await expect(store.acquireLock('l', 1_000)).resolves.not.toBeNull();
  });

  it('should remove expired keys on the sweep even when nobody reads them', async () => {
    await store.set('a', '1', 100);
    await store.set('b', '2');
    now += 100;
    store.sweep();
    expect((store as unknown as { entries: Map<string, unknown> }).entries.size).toBe(1);
  });

  it('should sweep on its timer and clear the timer on close', async () => {
    jest.useFakeTimers();
    try {
      const timed = new MemoryStore({ now: () => now, sweepIntervalMs: 1_000 });
      const sweep = jest.spyOn(timed, 'sweep');
      jest.advanceTimersByTime(3_000);
      expect(sweep).toHaveBeenCalledTimes(3);
      await timed.close();
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('should deliver messages asynchronously and keep a throwing handler from affecting others', async () => {
    const received: string[] = [];
    await store.subscribe('ch', () => {
      throw new Error('boom');
    });
    await store.subscribe('ch', (message) => received.push(message));
    const published = store.publish('ch', 'hello');
    expect(received).toEqual([]);
    await published;
    expect(received).toEqual(['hello']);
  });

  it('should not deliver a published message to a handler that unsubscribed before delivery', async () => {
    const handler = jest.fn();
    const unsubscribe = await store.subscribe('ch', handler);
    await Promise.all([store.publish('ch', 'late'), unsubscribe()]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(handler).not.toHaveBeenCalled();
  });

  it('should reject every call after close with StoreUnavailableError', async () => {
    await store.close();
    await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
  });
  it('should refill a consumeLimits bucket at exactly one hit per 1/rate seconds (GCRA)', async () => {
    const bucket = [{ type: 'bucket' as const, key: 'b', cost: 1, ratePerSec: 4, burst: 2 }];
    await expect(store.consumeLimits(bucket)).resolves.toEqual({
      allowed: true,
      checks: [{ allowed: true, remaining: 1, resetMs: 250, retryAfterMs: 0 }],
    });
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ checks: [{ remaining: 0, resetMs: 500 }] });
    await expect(store.consumeLimits(bucket)).resolves.toEqual({
      allowed: false,
      checks: [{ allowed: false, remaining: 0, resetMs: 500, retryAfterMs: 250 }],
    });
    now += 249;
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ allowed: false, checks: [{ retryAfterMs: 1 }] });
    now += 1;
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ allowed: true, checks: [{ remaining: 0 }] });
    now += 500;
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ allowed: true, checks: [{ remaining: 1 }] });
  });

  it('should keep a fractional rate exact over a full burst (no float drift)', async () => {
    const bucket = [{ type: 'bucket' as const, key: 'b', cost: 1, ratePerSec: 3, burst: 20 }];
    for (let i = 0; i < 20; i++) await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ allowed: true });
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({
      allowed: false,
      checks: [{ retryAfterMs: 334 }],
    });
    now += 333.334;
    await expect(store.consumeLimits(bucket)).resolves.toMatchObject({ allowed: true });
  });
});
