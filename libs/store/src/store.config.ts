import { IsNumber, IsOptional, Matches, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';
import { DEFAULT_STORE_KEY_PREFIX } from './store.constants';

class StoreEnv {
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @IsOptional()
  @Matches(/^[\w:.{}-]{1,64}$/, { message: 'STORE_KEY_PREFIX must be 1-64 letters, digits or _ : . - { }' })
  STORE_KEY_PREFIX?: string;

  /** The share of each per-key and per-account limit one replica enforces alone while Redis is unreachable. */
  @IsOptional() @IsNumber() @Min(0.001) @Max(1) STORE_OUTAGE_LIMIT_SHARE?: number;
}

export interface StoreSettings {
  /** Redis shared by every replica; null means the in-process store (a single replica only). */
  redisUrl: string | null;
  /** Prefix of every key and channel written to Redis. */
  keyPrefix: string;
  /** See {@link LocalLimits}: 1 = each replica allows a whole limit during a store outage. */
  outageLimitShare: number;
}

export function storeSettingsFromEnv(env: StoreEnv): StoreSettings {
  return {
    redisUrl: env.REDIS_URL ?? null,
    keyPrefix: env.STORE_KEY_PREFIX ?? DEFAULT_STORE_KEY_PREFIX,
    outageLimitShare: env.STORE_OUTAGE_LIMIT_SHARE ?? 1,
  };
}

/** The `store` config namespace: `REDIS_URL`, `STORE_KEY_PREFIX`, `STORE_OUTAGE_LIMIT_SHARE`. Feed it to `StoreModule.forRootAsync`. */
export const storeConfig = defineConfig('store', StoreEnv, storeSettingsFromEnv);
