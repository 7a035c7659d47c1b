import { Logger } from '@nestjs/common';
import type { AccountConfig, ProviderConfig } from '@xrouter/config';
import { MemoryStore, type Store } from '@xrouter/store';
import type { DeploymentTarget } from '../llm-provider.interface';
import { SharedTokenCache, type IssuedToken, type SharedTokenCacheOptions } from './shared-token.cache';

const provider = {
  id: 'cloud',
  type: 'openai',
  base_url: 'http://cloud/v1',
  accounts: [],
} as unknown as ProviderConfig;
const account: AccountConfig = { id: 'main', key_id: 'id', key_secret: 'secret' };
const target: DeploymentTarget = { key: 'cloud/main/m', provider, account, upstreamModel: 'm' };
const signal = new AbortController().signal;

interface Issuer {
  calls: number;
  issue(): Promise<IssuedToken>;
}

/** An issuer handing out `token-1`, `token-2`, … living `lifeMs` from the clock's now. */
function issuer(clock: { now: number }, lifeMs = 600_000): Issuer {
  const counted: Issuer = {
    calls: 0,
    issue: async () => {
      counted.calls++;
      await Promise.resolve();
      return { token: `token-${counted.calls}`, expiresAt: clock.now + lifeMs };
    },
  };
  return counted;
}

/** The cache with the smallest subclass: one store key, tokens from `source`. */
class TestTokenCache extends SharedTokenCache {
  constructor(
    store: Store,
    private readonly source: Issuer,
    options: SharedTokenCacheOptions,
  ) {
    super(store, 'test_token', 'test tokens are kept per process', options);
  }

  protected keyOf(): string {
    return 'test:token:key';
  }

  protected issue(): Promise<IssuedToken> {
    return this.source.issue();
  }
}

describe('SharedTokenCache', () => {
  const stores: MemoryStore[] = [];
  const store = (): MemoryStore => {
    const created = new MemoryStore();
    stores.push(created);
    return created;
  };
  afterAll(() => Promise.all(stores.map((s) => s.close())));

  it('should share one exchange among concurrent callers', async () => {
    const clock = { now: 1_000_000 };
    const source = issuer(clock);
    const cache = new TestTokenCache(store(), source, { now: () => clock.now });
    const tokens = await Promise.all(Array.from({ length: 10 }, () => cache.token(target, signal)));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    expect(source.calls).toBe(1);
  });

  it('should refresh at the margin before expiry, not before', async () => {
    const clock = { now: 1_000_000 };
    const source = issuer(clock);
    const cache = new TestTokenCache(store(), source, { now: () => clock.now, refreshMarginMs: 60_000 });
    await cache.token(target, signal);
    clock.now += 600_000 - 60_001;
    expect(await cache.token(target, signal)).toBe('token-1');
    clock.now += 1;
    expect(await cache.token(target, signal)).toBe('token-2');
  });

  it("should take another replica's token from the store", async () => {
    const clock = { now: 1_000_000 };
    const shared = store();
    const first = issuer(clock);
    const second = issuer(clock);
    await new TestTokenCache(shared, first, { now: () => clock.now }).token(target, signal);
    expect(await new TestTokenCache(shared, second, { now: () => clock.now }).token(target, signal)).toBe('token-1');
    expect(second.calls).toBe(0);
  });

  it('should drop a refused token and fetch a new one', async () => {
    const clock = { now: 1_000_000 };
    const source = issuer(clock);
    const cache = new TestTokenCache(store(), source, { now: () => clock.now });
    const token = await cache.token(target, signal);
    await cache.invalidate(target, token);
    expect(await cache.token(target, signal)).toBe('token-2');
  });

  it('should keep issuing tokens when the store is down, said once in the log', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const down = store();
    await down.close();
    const clock = { now: 1_000_000 };
    const source = issuer(clock);
    const cache = new TestTokenCache(down, source, { now: () => clock.now });
    expect(await cache.token(target, signal)).toBe('token-1');
    expect(await cache.token(target, signal)).toBe('token-1');
    expect(source.calls).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    warn.mockRestore();
  });
});
