import {
  DynamicModule,
  type FactoryProvider,
  Inject,
  Logger,
  Module,
  type ModuleMetadata,
  OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { LocalLimits } from './local-limits';
import { MemoryStore } from './memory.store';
import { RedisStore, redactRedisUrl } from './redis.store';
import { DEFAULT_STORE_KEY_PREFIX, STORE, STORE_MODULE_OPTIONS } from './store.constants';
import type { Store } from './store.interface';

export interface StoreModuleOptions {
  /** Redis shared by every replica. Unset (or null): the in-process store, for a single replica only. */
  redisUrl?: string | null;
  /** Prefix of every Redis key and channel (default `xr:`). */
  keyPrefix?: string;
  /** The share of a limit each replica enforces alone while the store is down ({@link LocalLimits}); default 1. */
  outageLimitShare?: number;
}

export interface StoreModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Returns the options; receives the providers listed in `inject`. */
  useFactory: FactoryProvider<StoreModuleOptions | Promise<StoreModuleOptions>>['useFactory'];
  inject?: FactoryProvider['inject'];
}

/** Builds the store the options ask for and says once, without the Redis password, which one is in use. */
export function createStore(options: StoreModuleOptions, logger = new Logger('Store')): Store {
  if (options.redisUrl) {
    const keyPrefix = options.keyPrefix ?? DEFAULT_STORE_KEY_PREFIX;
    logger.log(`Using Redis at ${redactRedisUrl(options.redisUrl)} (key prefix "${keyPrefix}")`);
    return RedisStore.fromUrl(options.redisUrl, { keyPrefix });
  }
  logger.log('REDIS_URL is not set: using the in-process store; run a single replica only');
  return new MemoryStore();
}

const storeProviders: Provider[] = [
  {
    provide: STORE,
    inject: [STORE_MODULE_OPTIONS],
    useFactory: (options: StoreModuleOptions): Store => createStore(options),
  },
  {
    provide: LocalLimits,
    inject: [STORE_MODULE_OPTIONS],
    useFactory: (options: StoreModuleOptions) => new LocalLimits(options.outageLimitShare ?? 1),
  },
];

/**
 * Provides {@link STORE} and {@link LocalLimits} to the whole application (global): Redis when a URL is configured, else the in-process
 * store. Being global it shuts down after the feature modules, so their last writes and unsubscribes still work.
 */
@Module({})
export class StoreModule implements OnApplicationShutdown {
  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly localLimits: LocalLimits,
  ) {}

  static forRoot(options: StoreModuleOptions = {}): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      providers: [{ provide: STORE_MODULE_OPTIONS, useValue: options }, ...storeProviders],
      exports: [STORE, LocalLimits],
    };
  }

  static forRootAsync(options: StoreModuleAsyncOptions): DynamicModule {
    return {
      module: StoreModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: STORE_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        ...storeProviders,
      ],
      exports: [STORE, LocalLimits],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.store.close(), this.localLimits.close()]);
  }
}
