import { Injectable, Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MemoryStore } from './memory.store';
import { RedisStore, redactRedisUrl } from './redis.store';
import { STORE } from './store.constants';
import type { Store } from './store.interface';
import { createStore, StoreModule } from './store.module';

describe('StoreModule', () => {
  afterEach(() => jest.restoreAllMocks());

  it('should provide the in-process store and say once that only one replica may run', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const app = await Test.createTestingModule({ imports: [StoreModule.forRoot({})] }).compile();
    const store = app.get<Store>(STORE);
    expect(store).toBeInstanceOf(MemoryStore);
    expect(log.mock.calls.filter(([message]) => String(message).includes('single replica'))).toHaveLength(1);
    await app.close();
    await expect(store.ping()).rejects.toThrow('closed');
  });

  it('should resolve options from forRootAsync factories with injected providers', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    @Injectable()
    class Settings {
      readonly redisUrl = null;
    }
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}

    const app = await Test.createTestingModule({
      imports: [
        StoreModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ redisUrl: settings.redisUrl }),
        }),
      ],
    }).compile();
    expect(app.get<Store>(STORE).kind).toBe('memory');
    await app.close();
  });

  it('should make the store available to modules that do not import StoreModule', async () => {
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    class Consumer {
      constructor(readonly store: Store) {}
    }
    @Module({ providers: [{ provide: Consumer, inject: [STORE], useFactory: (store: Store) => new Consumer(store) }] })
    class FeatureModule {}

    const app = await Test.createTestingModule({ imports: [StoreModule.forRoot(), FeatureModule] }).compile();
    expect(app.get(Consumer).store).toBe(app.get(STORE));
    await app.close();
  });

  it('should log the Redis location without its password', async () => {
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const store = createStore({ redisUrl: 'redis://user:s3cret@127.0.0.1:1/2', keyPrefix: 'p:' });
    try {
      expect(store).toBeInstanceOf(RedisStore);
      const lines = log.mock.calls.map(([message]) => String(message));
      expect(lines).toEqual(['Using Redis at redis://127.0.0.1:1/2 (key prefix "p:")']);
    } finally {
      await store.close();
    }
  });

  it.each([
    ['redis://:pw@host', 'redis://host:6379'],
    ['rediss://u:pw@host:6380/0', 'rediss://host:6380/0'],
    ['not a url', '(unparseable REDIS_URL)'],
  ])('should redact %s as %s', (url, expected) => {
    expect(redactRedisUrl(url)).toBe(expected);
  });
});
