import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { MemoryStore, RedisStore, StoreUnavailableError, type LimitCheck, type Store } from '@xrouter/store';
import { deleteRedisKeys } from '../support/redis-cleanup';

/**
 * One behaviour contract for every Store implementation: the in-process store always, Redis when REDIS_URL is set
 * (CI sets it). Time-based cases use short real TTLs so they hold on Redis too.
 */

const REDIS_URL = process.env.REDIS_URL;

/** Every key this run writes starts with `xr-test:<run>:`, so runs never collide and the run can clean up after itself. */
const RUN_PREFIX = `xr-test:${randomUUID()}:`;
const newPrefix = (): string => `${RUN_PREFIX}${randomUUID()}:`;

afterAll(async () => {
  await deleteRedisKeys(REDIS_URL, RUN_PREFIX);
});

/** Opens a store; two calls with the same prefix behave like two replicas of one deployment. */
type OpenStore = (prefix: string) => Store;

const memoryStores = new Map<string, MemoryStore>();
const variants: Array<[string, OpenStore]> = [
  // The in-process store spans one process only: both "replicas" are the same instance.
  [
    'memory',
    (prefix) => {
      let store = memoryStores.get(prefix);
      if (!store) {
        store = new MemoryStore();
        memoryStores.set(prefix, store);
      }
      return store;
    },
  ],
];
if (REDIS_URL) variants.push(['redis', (prefix) => RedisStore.fromUrl(REDIS_URL, { keyPrefix: prefix })]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Subscribes `store` to `channel`; `messages` resolves with the first `count` messages, or rejects after 5 s. */
async function collect(store: Store, channel: string, count: number): Promise<{ messages: Promise<string[]> }> {
  const received: string[] = [];
  let complete: (messages: string[]) => void = () => undefined;
  const all = new Promise<string[]>((resolve) => (complete = resolve));
  const unsubscribe = await store.subscribe(channel, (message) => {
    received.push(message);
    if (received.length === count) complete(received);
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only got ${JSON.stringify(received)} on ${channel}`)), 5_000);
  });
  const messages = (async () => {
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
      await unsubscribe();
    }
  })();
  return { messages };
}

describe.each(variants)('%s store contract', (_kind, open) => {
  const opened: Store[] = [];
  let prefix: string;
  let store: Store;

  const replica = (): Store => {
    const another = open(prefix);
    opened.push(another);
    return another;
  };

  beforeEach(() => {
    prefix = newPrefix();
    store = replica();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  describe('keys', () => {
    it('should return null for a key never set', async () => {
      await expect(store.get('missing')).resolves.toBeNull();
    });

    it('should return what was set and overwrite on the next set', async () => {
      await store.set('k', 'one');
      await expect(store.get('k')).resolves.toBe('one');
      await store.set('k', 'two');
      await expect(store.get('k')).resolves.toBe('two');
    });

    it('should forget a key once its TTL has passed', async () => {
      await store.set('k', 'v', 150);
      await expect(store.get('k')).resolves.toBe('v');
      await sleep(300);
      await expect(store.get('k')).resolves.toBeNull();
    });

    it('should store with setIfAbsent only when the key is absent or expired', async () => {
      await expect(store.setIfAbsent('k', 'first', 150)).resolves.toBe(true);
      await expect(store.setIfAbsent('k', 'second', 150)).resolves.toBe(false);
      await expect(store.get('k')).resolves.toBe('first');
      await sleep(300);
      await expect(store.setIfAbsent('k', 'third', 10_000)).resolves.toBe(true);
      await expect(store.get('k')).resolves.toBe('third');
    });

    it('should delete a key, and accept deleting a key that does not exist', async () => {
      await store.set('k', 'v');
      await store.delete('k');
      await expect(store.get('k')).resolves.toBeNull();
      await expect(store.delete('never-set')).resolves.toBeUndefined();
    });

    it('should share keys between replicas of the same deployment but not across prefixes', async () => {
      await store.set('shared', 'v');
      await expect(replica().get('shared')).resolves.toBe('v');
      const otherDeployment = open(newPrefix());
      opened.push(otherDeployment);
      await expect(otherDeployment.get('shared')).resolves.toBeNull();
    });

    it('should reject a zero or negative TTL', async () => {
      await expect(store.set('k', 'v', 0)).rejects.toThrow(RangeError);
      await expect(store.setIfAbsent('k', 'v', -5)).rejects.toThrow(RangeError);
    });
  });

  describe('increment', () => {
    it('should start a new counter at 0 with the given TTL', async () => {
      const result = await store.increment('c', 3, 10_000);
      expect(result.value).toBe(3);
      expect(result.ttlMs).toBeGreaterThan(9_000);
      expect(result.ttlMs).toBeLessThanOrEqual(10_000);
      await expect(store.get('c')).resolves.toBe('3');
    });

    it('should count exactly 200 for 200 concurrent increments from two replicas', async () => {
      const other = replica();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => (i % 2 ? store : other).increment('c', 1, 10_000)),
      );
      expect(new Set(results.map((r) => r.value)).size).toBe(200);
      expect(Math.max(...results.map((r) => r.value))).toBe(200);
      await expect(store.get('c')).resolves.toBe('200');
    });

    it('should not extend the expiry on later increments', async () => {
      const first = await store.increment('c', 1, 300);
      await sleep(150);
      const second = await store.increment('c', 1, 300);
      expect(second.value).toBe(2);
      expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs - 100);
      await sleep(250);
      await expect(store.get('c')).resolves.toBeNull();
      await expect(store.increment('c', 1, 300)).resolves.toMatchObject({ value: 1 });
    });

    it('should accept a negative increment and go below zero', async () => {
      await store.increment('c', 5, 10_000);
      await expect(store.increment('c', -8, 10_000)).resolves.toMatchObject({ value: -3 });
      await expect(store.increment('fresh', -2, 10_000)).resolves.toMatchObject({ value: -2 });
    });

    it('should reject a fractional increment', async () => {
      await expect(store.increment('c', 1.5, 10_000)).rejects.toThrow(RangeError);
    });
  });

  describe('consume', () => {
    it('should allow exactly `limit` of 60 concurrent hits and report the window TTL', async () => {
      const other = replica();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 ? store : other).consume('rl', 1, 25, 10_000)),
      );
      const allowed = results.filter((r) => r.allowed);
      expect(allowed).toHaveLength(25);
      expect(allowed.map((r) => r.value).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      for (const refused of results.filter((r) => !r.allowed)) expect(refused.value).toBe(25);
      for (const result of results) {
        expect(result.ttlMs).toBeGreaterThan(9_000);
        expect(result.ttlMs).toBeLessThanOrEqual(10_000);
      }
      await expect(store.get('rl')).resolves.toBe('25');
    });

    it('should count the cost and refuse a hit that would cross the limit without counting it', async () => {
      await expect(store.consume('rl', 4, 10, 10_000)).resolves.toMatchObject({ allowed: true, value: 4 });
      await expect(store.consume('rl', 4, 10, 10_000)).resolves.toMatchObject({ allowed: true, value: 8 });
      await expect(store.consume('rl', 4, 10, 10_000)).resolves.toMatchObject({ allowed: false, value: 8 });
      await expect(store.consume('rl', 2, 10, 10_000)).resolves.toMatchObject({ allowed: true, value: 10 });
    });

    it('should start a fresh window after the previous one expired', async () => {
      await store.consume('rl', 1, 1, 150);
      await expect(store.consume('rl', 1, 1, 150)).resolves.toMatchObject({ allowed: false });
      await sleep(300);
      await expect(store.consume('rl', 1, 1, 150)).resolves.toMatchObject({ allowed: true, value: 1 });
    });

    it('should not extend the window on later hits', async () => {
      const first = await store.consume('rl', 1, 100, 300);
      await sleep(150);
      const second = await store.consume('rl', 1, 100, 300);
      expect(second.ttlMs).toBeLessThanOrEqual(first.ttlMs - 100);
    });
  });

  describe('consumeLimits', () => {
    const window = (key: string, limit: number, windowMs = 10_000): LimitCheck => ({
      type: 'window',
      key,
      cost: 1,
      limit,
      windowMs,
    });
    const bucket = (key: string, ratePerSec: number, burst: number): LimitCheck => ({
      type: 'bucket',
      key,
      cost: 1,
      ratePerSec,
      burst,
    });

    it('should allow exactly `limit` of 40 concurrent calls from two replicas', async () => {
      const other = replica();
      const checks = [window('rl:{k1}:rpm', 15), bucket('rl:{k1}:burst', 10, 100)];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? store : other).consumeLimits(checks)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(15);
      const remaining = results.filter((r) => r.allowed).map((r) => r.checks[0].remaining);
      expect(remaining.sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i));
      await expect(store.get('rl:{k1}:rpm')).resolves.toBe('15');
    });

    it('should count a hit in no limit at all when one of them refuses it', async () => {
      const checks = [window('rl:{k2}:rpm', 2), bucket('rl:{k2}:burst', 1, 10)];
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: true });
      const second = await store.consumeLimits(checks);
      expect(second.allowed).toBe(true);
      expect(second.checks[1].remaining).toBe(8);
      const refused = await store.consumeLimits(checks);
      expect(refused.allowed).toBe(false);
      expect(refused.checks[0]).toMatchObject({ allowed: false, remaining: 0 });
      expect(refused.checks[0].retryAfterMs).toBeGreaterThan(9_000);
      expect(refused.checks[0].retryAfterMs).toBeLessThanOrEqual(10_000);
      // The bucket allowed the hit on its own but did not count it: still 8 left.
      expect(refused.checks[1]).toMatchObject({ allowed: true, remaining: 8, retryAfterMs: 0 });
      await expect(store.get('rl:{k2}:rpm')).resolves.toBe('2');
    });

    it('should let a burst through at once, then one more per 1/rate seconds', async () => {
      const checks = [bucket('rl:{k3}:burst', 10, 5)];
      const first = await store.consumeLimits(checks);
      expect(first.checks[0]).toMatchObject({ allowed: true, remaining: 4 });
      expect(first.checks[0].resetMs).toBeGreaterThan(0);
      expect(first.checks[0].resetMs).toBeLessThanOrEqual(100);
      const burst = await Promise.all(Array.from({ length: 4 }, () => replica().consumeLimits(checks)));
      expect(burst.every((r) => r.allowed)).toBe(true);
      const refused = await store.consumeLimits(checks);
      expect(refused.allowed).toBe(false);
      expect(refused.checks[0].remaining).toBe(0);
      expect(refused.checks[0].retryAfterMs).toBeGreaterThan(0);
      expect(refused.checks[0].retryAfterMs).toBeLessThanOrEqual(100);
      await sleep(refused.checks[0].retryAfterMs + 30);
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: true });
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: false });
    });

    it('should refill a bucket completely after burst/rate seconds', async () => {
      const checks = [bucket('rl:{k4}:burst', 20, 3)];
      for (let i = 0; i < 3; i++) await store.consumeLimits(checks);
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: false });
      await sleep(250);
      const refilled = await store.consumeLimits(checks);
      expect(refilled.checks[0]).toMatchObject({ allowed: true, remaining: 2 });
    });

    it('should pass a cap while its counter is below the limit, without writing it', async () => {
      const cap: LimitCheck = { type: 'cap', key: 'rl:{k5}:tpm', limit: 1_000 };
      await expect(store.consumeLimits([cap])).resolves.toEqual({
        allowed: true,
        checks: [{ allowed: true, remaining: 1_000, resetMs: 0, retryAfterMs: 0 }],
      });
      await store.increment('rl:{k5}:tpm', 900, 10_000);
      const under = await store.consumeLimits([window('rl:{k5}:rpm', 5), cap]);
      expect(under.allowed).toBe(true);
      expect(under.checks[1]).toMatchObject({ allowed: true, remaining: 100 });
      expect(under.checks[1].resetMs).toBeGreaterThan(9_000);
      await store.increment('rl:{k5}:tpm', 200, 10_000);
      const over = await store.consumeLimits([window('rl:{k5}:rpm', 5), cap]);
      expect(over.allowed).toBe(false);
      expect(over.checks[0]).toMatchObject({ allowed: true, remaining: 4 });
      expect(over.checks[1]).toMatchObject({ allowed: false, remaining: 0 });
      expect(over.checks[1].retryAfterMs).toBeGreaterThan(9_000);
      expect(over.checks[1].retryAfterMs).toBeLessThanOrEqual(10_000);
      await expect(store.get('rl:{k5}:tpm')).resolves.toBe('1100');
    });

    it('should start a fresh window after the previous one expired', async () => {
      const checks = [window('rl:{k6}:rpm', 1, 150)];
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: true });
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: false });
      await sleep(300);
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: true });
    });

    it('should count every call of the same frozen checks, and refuse frozen bad checks every time', async () => {
      const checks = Object.freeze([
        Object.freeze(window('rl:{k9}:rpm', 3)),
        Object.freeze(bucket('rl:{k9}:b', 1, 10)),
      ]);
      for (const remaining of [2, 1, 0]) {
        await expect(store.consumeLimits(checks)).resolves.toMatchObject({
          allowed: true,
          checks: [{ remaining }, { allowed: true }],
        });
      }
      await expect(store.consumeLimits(checks)).resolves.toMatchObject({ allowed: false });
      const bad = Object.freeze([Object.freeze(window('{a}:x', 1)), Object.freeze(window('{a}:x', 2))]);
      await expect(store.consumeLimits(bad)).rejects.toThrow(TypeError);
      await expect(store.consumeLimits(bad)).rejects.toThrow(TypeError);
    });

    it('should reject keys without one shared {hash tag}, repeated keys and a cost above the burst', async () => {
      await expect(store.consumeLimits([window('a:rpm', 1), window('a:rps', 1)])).rejects.toThrow(TypeError);
      await expect(store.consumeLimits([window('{a}:rpm', 1), window('{b}:rps', 1)])).rejects.toThrow(TypeError);
      await expect(store.consumeLimits([window('{a}:x', 1), window('{a}:x', 2)])).rejects.toThrow(TypeError);
      await expect(store.consumeLimits([])).rejects.toThrow(RangeError);
      await expect(
        store.consumeLimits([{ type: 'bucket', key: 'b', cost: 3, ratePerSec: 1, burst: 2 }]),
      ).rejects.toThrow(RangeError);
      await expect(store.consumeLimits([window('no-tag-is-fine-alone', 1)])).resolves.toMatchObject({ allowed: true });
    });

    it('should reject with StoreUnavailableError once closed', async () => {
      await store.close();
      await expect(store.consumeLimits([window('rl:{k7}:rpm', 1)])).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe('publish/subscribe', () => {
    it('should deliver a message published by one replica to subscribers on every replica', async () => {
      const publisher = replica();
      const onFirst = await collect(store, 'events', 2);
      const onSecond = await collect(replica(), 'events', 2);
      await publisher.publish('events', 'a');
      await publisher.publish('events', 'b');
      await expect(onFirst.messages).resolves.toEqual(['a', 'b']);
      await expect(onSecond.messages).resolves.toEqual(['a', 'b']);
    });

    it('should not deliver messages of other channels or of other deployments', async () => {
      const received: string[] = [];
      const unsubscribe = await store.subscribe('mine', (m) => received.push(`mine:${m}`));
      const marker = await collect(store, 'marker', 1);
      const otherDeployment = open(newPrefix());
      opened.push(otherDeployment);
      await otherDeployment.publish('mine', 'foreign');
      await store.publish('other', 'x');
      await store.publish('marker', 'done');
      await expect(marker.messages).resolves.toEqual(['done']);
      expect(received).toEqual([]);
      await unsubscribe();
    });

    it('should stop delivering to a handler once it unsubscribed, and keep the others', async () => {
      const gone: string[] = [];
      const unsubscribeGone = await store.subscribe('events', (m) => gone.push(m));
      const staying = await collect(store, 'events', 2);
      await unsubscribeGone();
      await unsubscribeGone();
      await store.publish('events', 'a');
      await store.publish('events', 'b');
      await expect(staying.messages).resolves.toEqual(['a', 'b']);
      expect(gone).toEqual([]);
    });

    it('should stop delivering on a channel once its last handler unsubscribed', async () => {
      const gone: string[] = [];
      const unsubscribe = await store.subscribe('events', (m) => gone.push(m));
      await unsubscribe();
      const marker = await collect(store, 'marker', 1);
      await store.publish('events', 'late');
      await store.publish('marker', 'done');
      await expect(marker.messages).resolves.toEqual(['done']);
      expect(gone).toEqual([]);
    });

    it('should keep delivering to other handlers when one handler throws', async () => {
      const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      try {
        const unsubscribe = await store.subscribe('events', () => {
          throw new Error('handler bug');
        });
        const healthy = await collect(store, 'events', 2);
        await store.publish('events', 'a');
        await store.publish('events', 'b');
        await expect(healthy.messages).resolves.toEqual(['a', 'b']);
        expect(error).toHaveBeenCalled();
        await unsubscribe();
      } finally {
        error.mockRestore();
      }
    });
  });

  describe('locks', () => {
    it('should let exactly one of 20 concurrent acquirers win', async () => {
      const other = replica();
      const locks = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? store : other).acquireLock('job', 10_000)),
      );
      const winners = locks.filter((lock) => lock !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.key).toBe('job');
      await winners[0]?.release();
      const next = await store.acquireLock('job', 10_000);
      expect(next).not.toBeNull();
      await next?.release();
    });

    it('should not let a holder whose lock expired release the new owner lock', async () => {
      const stale = await store.acquireLock('job', 150);
      expect(stale).not.toBeNull();
      await sleep(300);
      const owner = await replica().acquireLock('job', 10_000);
      expect(owner).not.toBeNull();
      await stale?.release();
      await expect(store.acquireLock('job', 10_000)).resolves.toBeNull();
      await owner?.release();
      await owner?.release();
      const after = await store.acquireLock('job', 10_000);
      expect(after).not.toBeNull();
      await after?.release();
    });
  });

  describe('lifecycle', () => {
    it('should answer ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('should reject calls with StoreUnavailableError after close, and accept a second close', async () => {
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
      await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.increment('c', 1, 1_000)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.subscribe('events', () => undefined)).rejects.toBeInstanceOf(StoreUnavailableError);
    });

    it('should close with live subscriptions and ignore their later unsubscribe', async () => {
      const unsubscribe = await store.subscribe('events', () => undefined);
      await store.close();
      await expect(unsubscribe()).resolves.toBeUndefined();
    });
  });
});

describe('RedisStore when Redis cannot answer', () => {
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warn.mockRestore());

  /** A loopback port nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    return port;
  }

  async function timed<T>(call: () => Promise<T>): Promise<{ error: unknown; ms: number }> {
    const started = performance.now();
    try {
      await call();
      return { error: undefined, ms: performance.now() - started };
    } catch (error) {
      return { error, ms: performance.now() - started };
    }
  }

  it('should reject with StoreUnavailableError within 2 s when nothing listens on the port', async () => {
    const store = RedisStore.fromUrl(`redis://127.0.0.1:${await closedPort()}`, { keyPrefix: newPrefix() });
    try {
      const calls: Array<() => Promise<unknown>> = [
        () => store.get('k'),
        () => store.consume('rl', 1, 10, 1_000),
        () => store.consumeLimits([{ type: 'window', key: 'rl', cost: 1, limit: 10, windowMs: 1_000 }]),
        () => store.ping(),
      ];
      for (const call of calls) {
        const { error, ms } = await timed(call);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as StoreUnavailableError).cause).toBeInstanceOf(Error);
        expect(ms).toBeLessThan(2_000);
      }
      const { error } = await timed(() => store.subscribe('events', () => undefined));
      expect(error).toBeInstanceOf(StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('should reject with StoreUnavailableError within 3 s when Redis accepts connections but never replies', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const store = RedisStore.fromUrl(`redis://127.0.0.1:${port}`, { keyPrefix: newPrefix() });
    try {
      const { error, ms } = await timed(() => store.increment('c', 1, 1_000));
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(ms).toBeLessThan(3_000);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
