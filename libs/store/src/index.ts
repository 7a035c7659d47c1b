export type {
  BucketLimitCheck,
  CapLimitCheck,
  ConsumeResult,
  CounterResult,
  LimitCheck,
  LimitCheckResult,
  LimitsResult,
  Store,
  StoreLock,
  Unsubscribe,
  WindowLimitCheck,
} from './store.interface';
export { STORE, DEFAULT_STORE_KEY_PREFIX } from './store.constants';
export { StoreUnavailableError } from './store-unavailable.error';
export { OutageLog } from './outage.log';
export { StoreOutageLog, type StoreErrorCounter } from './store-outage.log';
export { MemoryStore, type MemoryStoreOptions } from './memory.store';
export { LocalLimits } from './local-limits';
export {
  RedisStore,
  failFastRedisOptions,
  type RedisClient,
  type RedisClientFactory,
  type RedisStoreOptions,
  type RedisStoreUrlOptions,
} from './redis.store';
export { StoreModule, createStore, type StoreModuleOptions, type StoreModuleAsyncOptions } from './store.module';
export { storeConfig, type StoreSettings } from './store.config';
