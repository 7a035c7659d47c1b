import { Logger } from '@nestjs/common';
import { MemoryStore, StoreUnavailableError } from '@xrouter/store';
import { StoreThrottlerStorage } from './store-throttler.storage';

describe('StoreThrottlerStorage', () => {
  let store: MemoryStore;

  beforeEach(() => {
    store = new MemoryStore();
  });

  afterEach(async () => {
    await store.close();
  });

  it('should count hits in a store window and block the hit past the limit until the window ends', async () => {
    const storage = new StoreThrottlerStorage(store);
    await expect(storage.increment('ip-hash', 60_000, 2, 60_000, 'default')).resolves.toEqual({
      totalHits: 1,
      timeToExpire: 60,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    await expect(storage.increment('ip-hash', 60_000, 2, 60_000, 'default')).resolves.toMatchObject({ totalHits: 2 });
    await expect(storage.increment('ip-hash', 60_000, 2, 60_000, 'default')).resolves.toEqual({
      totalHits: 3,
      timeToExpire: 60,
      isBlocked: true,
      timeToBlockExpire: 60,
    });
    await expect(storage.increment('ip-hash', 60_000, 2, 60_000, 'long')).resolves.toMatchObject({ isBlocked: false });
  });

  it('should let hits through while the store is down, logging once', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      jest.spyOn(store, 'consume').mockRejectedValue(new StoreUnavailableError('consume', new Error('down')));
      const storage = new StoreThrottlerStorage(store);
      await expect(storage.increment('ip-hash', 10_000, 1, 10_000, 'default')).resolves.toMatchObject({
        isBlocked: false,
      });
      await expect(storage.increment('ip-hash', 10_000, 1, 10_000, 'default')).resolves.toMatchObject({
        isBlocked: false,
      });
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
    }
  });
});
