import { IsOptional, Matches } from 'class-validator';
import { defineConfig } from '@xrouter/config';
import { DEFAULT_STORE_KEY_PREFIX } from './store.constants';

class StoreEnv {
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\w:.{}-]{1,64}$/, { message: 'STORE_KEY_PREFIX must be 1-64 letters, digits or _ : . - { }' })
  STORE_KEY_PREFIX?: string;
}

export interface StoreSettings {
  /** Redis shared by every replica; null means the in-process store (a single replica only). */
  redisUrl: string | null;
  /** Prefix of every key and channel written to Redis. */
  keyPrefix: string;
}

export function storeSettingsFromEnv(env: StoreEnv): StoreSettings {
  return { redisUrl: env.REDIS_URL ?? null, keyPrefix: env.STORE_KEY_PREFIX ?? DEFAULT_STORE_KEY_PREFIX };
}

/** The `store` config namespace: `REDIS_URL`, `STORE_KEY_PREFIX`. Feed it to `StoreModule.forRootAsync`. */
export const storeConfig = defineConfig('store', StoreEnv, storeSettingsFromEnv);
