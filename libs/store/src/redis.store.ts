import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { DEFAULT_STORE_KEY_PREFIX } from './store.constants';
import { assertInteger, assertLimitChecks, toTtlMs } from './store-arguments';
import type {
  ConsumeResult,
  CounterResult,
  LimitCheck,
  LimitsResult,
  Store,
  StoreLock,
  Unsubscribe,
} from './store.interface';
import { StoreOutageLog } from './store-outage.log';
import { errorMessage, StoreUnavailableError } from './store-unavailable.error';

/** A single Redis or a Redis Cluster client. */
export type RedisClient = Redis | Cluster;

/** Builds the command connection; the pub/sub connection is its `duplicate()`. */
export type RedisClientFactory = () => RedisClient;

export interface RedisStoreOptions {
  /** Prepended to every key and channel (default `xr:`), so several deployments can share one Redis. */
  keyPrefix?: string;
}

export interface RedisStoreUrlOptions extends RedisStoreOptions {
  /** Longest wait for any one reply before the call fails (default 2000 ms): a hung Redis must not hang requests. */
  commandTimeoutMs?: number;
}

/**
 * Connection settings that make an outage surface as fast errors instead of hanging requests: a command is retried
 * over at most 2 reconnects, waits at most `commandTimeout` for a reply, and (see {@link RedisStore}) is refused at
 * once while disconnected after the first connection attempt.
 */
export function failFastRedisOptions(commandTimeoutMs = 2_000): RedisOptions {
  return {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    connectTimeout: 5_000,
    commandTimeout: commandTimeoutMs,
    enableOfflineQueue: true,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    // How long a closing socket may linger before it is destroyed (ioredis arms this timer even for a socket that
    // is already dead, which would keep the process alive for the default 2 s after close()).
    disconnectTimeout: 200,
  };
}

/** The URL without its credentials, for log lines (`redis://:secret@host` → `redis://host:6379/0`). */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/** A Lua script run with EVALSHA, falling back to EVAL (which caches it) when the server does not know it yet. */
class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string | readonly string[], args: Array<string | number>): Promise<unknown> {
    const names = typeof keys === 'string' ? [keys] : keys;
    try {
      return await client.evalsha(this.sha, names.length, ...names, ...args);
    } catch (error) {
      if (!errorMessage(error).startsWith('NOSCRIPT')) throw error;
      return client.eval(this.source, names.length, ...names, ...args);
    }
  }
}

// Every script but CONSUME_LIMITS touches exactly one key (KEYS[1]) and nothing else, so each runs on that key's
// node of a Redis Cluster with no CROSSSLOT errors and needs no {hash tag}. CONSUME_LIMITS touches several keys,
// which its callers must give one shared {hash tag} (checked by assertLimitChecks).

/** KEYS[1] counter; ARGV by, ttlMs → {value, ttlMs}. The expiry is set only when the key had none. */
const INCREMENT = new LuaScript(`
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {value, ttl}
`);

/** KEYS[1] window counter; ARGV cost, limit, windowMs → {allowed 0|1, value, ttlMs}. A refusal writes nothing. */
const CONSUME = new LuaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if current + cost > tonumber(ARGV[2]) then
  if ttl == -1 then redis.call('PEXPIRE', KEYS[1], window) end
  if ttl < 0 then ttl = window end
  return {0, current, ttl}
end
local value = redis.call('INCRBY', KEYS[1], cost)
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], window)
  ttl = window
end
return {1, value, ttl}
`);

/**
 * KEYS[1..n] one key per limit; ARGV four per limit: `window` cost limit windowMs | `bucket` cost ratePerSec burst |
 * `cap` limit 0 0 → {allowed 0|1, then per limit: allowed 0|1, remaining, resetMs, retryAfterMs}. Every limit is
 * evaluated first; windows and buckets are written only when all of them pass. Time is the server's (TIME), so
 * replicas with skewed clocks share one bucket. A bucket is GCRA: its state is the theoretical arrival time (TAT).
 */
const CONSUME_LIMITS = new LuaScript(`
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local EPS = 0.000001
local function ceilms(x)
  local v = math.ceil(x - EPS)
  if v < 0 then return 0 end
  return v
end
local all = 1
local before, after, commits = {}, {}, {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local kind = ARGV[i * 4 - 3]
  local a = tonumber(ARGV[i * 4 - 2])
  local b = tonumber(ARGV[i * 4 - 1])
  local c = tonumber(ARGV[i * 4])
  if kind == 'window' then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    local ttl = redis.call('PTTL', key)
    if ttl == -1 then
      redis.call('PEXPIRE', key, c)
      ttl = c
    end
    local ok = current + a <= b
    local used = ttl >= 0
    before[i] = {ok and 1 or 0, math.max(0, b - current), used and ttl or 0, ok and 0 or (used and ttl or c)}
    after[i] = {1, b - current - a, used and ttl or c, 0}
    commits[i] = function()
      redis.call('INCRBY', key, a)
      if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, c) end
    end
    if not ok then all = 0 end
  elseif kind == 'bucket' then
    local interval = 1000 / b
    local burstMs = c * interval
    local raw = redis.call('GET', key)
    local tat = now
    if raw then tat = tonumber(raw) or now end
    if tat < now then tat = now end
    local newTat = tat + a * interval
    local ok = newTat - now <= burstMs + EPS
    local function remaining(t)
      local r = math.floor((burstMs - (t - now)) / interval + EPS)
      if r < 0 then return 0 end
      if r > c then return c end
      return r
    end
    before[i] = {ok and 1 or 0, remaining(tat), ceilms(tat - now), ok and 0 or math.max(1, ceilms(newTat - now - burstMs))}
    after[i] = {1, remaining(newTat), ceilms(newTat - now), 0}
    commits[i] = function()
      redis.call('SET', key, string.format('%.3f', newTat), 'PX', math.max(1, ceilms(newTat - now)))
    end
    if not ok then all = 0 end
  else
    local current = tonumber(redis.call('GET', key) or '0')
    local ttl = redis.call('PTTL', key)
    local reset = 0
    if ttl > 0 then reset = ttl end
    local ok = current < a
    before[i] = {ok and 1 or 0, math.max(0, a - current), reset, ok and 0 or math.max(1, reset)}
    after[i] = before[i]
    if not ok then all = 0 end
  end
end
local states = before
if all == 1 then
  for i = 1, #KEYS do
    if commits[i] then commits[i]() end
  end
  states = after
end
local reply = {all}
for i = 1, #KEYS do
  for j = 1, 4 do reply[#reply + 1] = states[i][j] end
end
return reply
`);

/** KEYS[1] lock; ARGV token → 1 when deleted. Deletes only if the caller still owns the lock. */
const RELEASE_LOCK = new LuaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

interface ChannelSubscriptions {
  handlers: Set<{ handler: (message: string) => void }>;
  /** Settles once Redis confirmed the SUBSCRIBE. */
  ready: Promise<void>;
}

/**
 * The store shared by every replica, on Redis through ioredis. Works on a single Redis or a Redis Cluster (pass a
 * factory that returns a `Cluster`). Counters, rate-limit windows and lock releases are Lua scripts: atomic and one
 * round trip each. Pub/sub uses a second connection, duplicated from the first on the first `subscribe`.
 *
 * Fail fast: commands issued during the very first connection attempt wait for it; afterwards the offline queue is
 * off, so while Redis is unreachable every call rejects at once with {@link StoreUnavailableError}.
 */
/** One consumeLimits call as the script takes it. */
interface LimitsCall {
  keys: string[];
  args: Array<string | number>;
}

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  private readonly logger = new Logger('Store');
  private readonly prefix: string;
  private readonly client: RedisClient;
  private subscriber: RedisClient | null = null;
  private readonly channels = new Map<string, ChannelSubscriptions>();
  /** consumeLimits' encoded calls per frozen checks array (see `limitsCall`). */
  private readonly limitsCalls = new WeakMap<readonly LimitCheck[], LimitsCall>();
  private closed = false;

  constructor(createClient: RedisClientFactory, options: RedisStoreOptions = {}) {
    this.prefix = options.keyPrefix ?? DEFAULT_STORE_KEY_PREFIX;
    this.client = this.watch(createClient(), 'the Redis connection', 'every store call fails at once');
  }

  /** A store on one Redis at `url` (`redis://[:password@]host[:port][/db]`, `rediss://` for TLS). */
  static fromUrl(url: string, options: RedisStoreUrlOptions = {}): RedisStore {
    return new RedisStore(() => new Redis(url, failFastRedisOptions(options.commandTimeoutMs)), options);
  }

  get(key: string): Promise<string | null> {
    return this.call('get', () => this.client.get(this.prefix + key));
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = ttlMs === undefined ? undefined : toTtlMs(ttlMs);
    await this.call('set', () =>
      ttl === undefined
        ? this.client.set(this.prefix + key, value)
        : this.client.set(this.prefix + key, value, 'PX', ttl),
    );
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    const ttl = toTtlMs(ttlMs);
    const reply = await this.call('setIfAbsent', () => this.client.set(this.prefix + key, value, 'PX', ttl, 'NX'));
    return reply === 'OK';
  }

  async delete(key: string): Promise<void> {
    await this.call('delete', () => this.client.del(this.prefix + key));
  }

  async increment(key: string, by: number, ttlMs: number): Promise<CounterResult> {
    assertInteger(by, 'by');
    const ttl = toTtlMs(ttlMs);
    const [value, remaining] = toIntegers(
      await this.call('increment', () => INCREMENT.run(this.client, this.prefix + key, [by, ttl])),
      2,
    );
    return { value, ttlMs: remaining };
  }

  async consume(key: string, cost: number, limit: number, windowMs: number): Promise<ConsumeResult> {
    assertInteger(cost, 'cost', 0);
    assertInteger(limit, 'limit', 0);
    const window = toTtlMs(windowMs, 'windowMs');
    const [allowed, value, ttl] = toIntegers(
      await this.call('consume', () => CONSUME.run(this.client, this.prefix + key, [cost, limit, window])),
      3,
    );
    return { allowed: allowed === 1, value, ttlMs: ttl };
  }

  async consumeLimits(checks: readonly LimitCheck[]): Promise<LimitsResult> {
    const { keys, args } = this.limitsCall(checks);
    const reply = toIntegers(
      await this.call('consumeLimits', () => CONSUME_LIMITS.run(this.client, keys, args)),
      1 + 4 * checks.length,
    );
    return {
      allowed: reply[0] === 1,
      checks: checks.map((_, i) => ({
        allowed: reply[1 + 4 * i] === 1,
        remaining: reply[2 + 4 * i],
        resetMs: reply[3 + 4 * i],
        retryAfterMs: reply[4 + 4 * i],
      })),
    };
  }

  /**
   * The script's KEYS and ARGV for these checks, checked first. A caller that asks with the same frozen checks on every
   * request (the rate limiter plans once per credential) has them checked and encoded once: frozen, they cannot have
   * changed since.
   */
  private limitsCall(checks: readonly LimitCheck[]): LimitsCall {
    const known = this.limitsCalls.get(checks);
    if (known) return known;
    assertLimitChecks(checks);
    const keys = checks.map((check) => this.prefix + check.key);
    const args = checks.flatMap((check): Array<string | number> => {
      switch (check.type) {
        case 'window':
          return ['window', check.cost, check.limit, toTtlMs(check.windowMs, 'windowMs')];
        case 'bucket':
          return ['bucket', check.cost, check.ratePerSec, check.burst];
        case 'cap':
          return ['cap', check.limit, 0, 0];
      }
    });
    const call = { keys, args };
    if (Object.isFrozen(checks) && checks.every((check) => Object.isFrozen(check))) this.limitsCalls.set(checks, call);
    return call;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.call('publish', () => this.client.publish(this.prefix + channel, message));
  }

  async subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe> {
    if (this.closed) throw new StoreUnavailableError('subscribe', new Error('the store is closed'));
    const name = this.prefix + channel;
    const subscription = { handler };
    let entry = this.channels.get(name);
    if (!entry) {
      const subscriber = this.subscriberConnection();
      const created: ChannelSubscriptions = { handlers: new Set(), ready: Promise.resolve() };
      created.ready = this.call('subscribe', () => subscriber.subscribe(name)).then(
        () => undefined,
        (error: unknown) => {
          // A failed SUBSCRIBE leaves nothing behind, so the next subscribe tries again.
          if (this.channels.get(name) === created) this.channels.delete(name);
          throw error;
        },
      );
      entry = created;
      this.channels.set(name, entry);
    }
    entry.handlers.add(subscription);
    try {
      await entry.ready;
    } catch (error) {
      entry.handlers.delete(subscription);
      throw error;
    }
    const subscribed = entry;
    let done = false;
    return async () => {
      if (done || this.closed) return;
      done = true;
      subscribed.handlers.delete(subscription);
      if (subscribed.handlers.size > 0 || this.channels.get(name) !== subscribed) return;
      this.channels.delete(name);
      const subscriber = this.subscriber;
      if (subscriber) await this.call('unsubscribe', () => subscriber.unsubscribe(name));
    };
  }

  async acquireLock(key: string, ttlMs: number): Promise<StoreLock | null> {
    const ttl = toTtlMs(ttlMs);
    const token = randomUUID();
    const name = this.prefix + key;
    const reply = await this.call('acquireLock', () => this.client.set(name, token, 'PX', ttl, 'NX'));
    if (reply !== 'OK') return null;
    return {
      key,
      release: async () => {
        await this.call('releaseLock', () => RELEASE_LOCK.run(this.client, name, [token]));
      },
    };
  }

  async ping(): Promise<void> {
    await this.call('ping', () => this.client.ping());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    const connections = [this.client, this.subscriber].filter((c): c is RedisClient => c !== null);
    await Promise.all(connections.map((connection) => disconnect(connection)));
  }

  /** Runs one Redis call, turning every failure (and calls after `close`) into a {@link StoreUnavailableError}. */
  private async call<T>(operation: string, command: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreUnavailableError(operation, new Error('the store is closed'));
    try {
      return await command();
    } catch (error) {
      throw new StoreUnavailableError(operation, error);
    }
  }

  private subscriberConnection(): RedisClient {
    if (!this.subscriber) {
      // The duplicate inherits the options, including the switched-off offline queue: switch it back on until the
      // subscriber's own first connection attempt, or its first SUBSCRIBE would be refused.
      const duplicate =
        this.client instanceof Cluster
          ? this.client.duplicate([], { enableOfflineQueue: true })
          : this.client.duplicate({ enableOfflineQueue: true });
      this.subscriber = this.watch(duplicate, 'the Redis pub/sub connection', 'replicas miss announcements');
      this.subscriber.on('message', (channel: string, message: string) => this.dispatch(channel, message));
    }
    return this.subscriber;
  }

  private dispatch(channel: string, message: string): void {
    const entry = this.channels.get(channel);
    if (!entry) return;
    for (const { handler } of [...entry.handlers]) {
      try {
        handler(message);
      } catch (error) {
        this.logger.error(`Subscriber of "${channel}" threw: ${errorMessage(error)}`);
      }
    }
  }

  /**
   * Turns the offline queue off once the first connection attempt settled, and logs connection state changes
   * through a {@link StoreOutageLog} (once per outage, not once per reconnect attempt). Never logs the URL.
   */
  private watch(client: RedisClient, label: string, consequence: string): RedisClient {
    const outage = new StoreOutageLog(this.logger, null, label, consequence);
    const failFast = (): void => {
      client.options.enableOfflineQueue = false;
    };
    client.once('ready', failFast);
    client.once('close', failFast);
    client.on('ready', () => outage.answered());
    client.on('error', (error: unknown) => {
      if (!this.closed) outage.failed(new StoreUnavailableError('connect', error));
    });
    return client;
  }
}

/** Quits gracefully when connected (pending replies arrive first), otherwise drops the connection and its retries. */
async function disconnect(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

function toIntegers(reply: unknown, length: number): number[] {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((n): n is number => typeof n === 'number')) {
    throw new StoreUnavailableError('script', new Error(`unexpected reply ${JSON.stringify(reply)}`));
  }
  return reply;
}
