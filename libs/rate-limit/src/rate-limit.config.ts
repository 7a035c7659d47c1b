import { IsIn, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

/**
 * What the limiter does while the store cannot answer: enforce each limit on this replica alone (`local`: its share,
 * `STORE_OUTAGE_LIMIT_SHARE`), or refuse requests with 503 (`closed`). Never no limit at all.
 */
export type RateLimitFailMode = 'local' | 'closed';

class RateLimitEnv {
  /** Requests per second refilled into each credential's bucket; 0 switches the per-second limit off. */
  @IsOptional() @IsNumber() @Min(0) @Max(100_000) RATE_LIMIT_RPS?: number;
  /** Requests a credential may send at once before the per-second rate applies. */
  @IsOptional() @IsInt() @Min(1) @Max(1_000_000) RATE_LIMIT_BURST?: number;
  /** Requests per minute for keys without their own `rpm_limit`; unset = no per-minute limit for them. */
  @IsOptional() @IsInt() @Min(1) RATE_LIMIT_DEFAULT_RPM?: number;
  /** Tokens per minute for keys without their own `tpm_limit`; unset = no token limit for them. */
  @IsOptional() @IsInt() @Min(1) RATE_LIMIT_DEFAULT_TPM?: number;
  @IsOptional()
  @IsIn(['local', 'closed'], { message: 'RATE_LIMIT_FAIL_MODE must be local or closed' })
  RATE_LIMIT_FAIL_MODE?: RateLimitFailMode;
  /** Requests per minute per client IP on public endpoints that take secrets (OAuth token, login, revoke). */
  @IsOptional() @IsInt() @Min(1) RATE_LIMIT_PUBLIC_PER_MINUTE?: number;
}

export interface RateLimitSettings {
  /** The per-credential token bucket (the design card's default: 10 requests/s with a burst of 20); null = off. */
  perSecond: { ratePerSec: number; burst: number } | null;
  defaultRpm: number | null;
  defaultTpm: number | null;
  failMode: RateLimitFailMode;
  /** Per-IP requests per minute on throttled public routes (OAuth); throttler's counters live in the store. */
  publicPerMinute?: number;
}

export const rateLimitConfig = defineConfig('rateLimit', RateLimitEnv, (env): RateLimitSettings => ({
  perSecond:
    env.RATE_LIMIT_RPS === 0 ? null : { ratePerSec: env.RATE_LIMIT_RPS ?? 10, burst: env.RATE_LIMIT_BURST ?? 20 },
  defaultRpm: env.RATE_LIMIT_DEFAULT_RPM ?? null,
  defaultTpm: env.RATE_LIMIT_DEFAULT_TPM ?? null,
  failMode: env.RATE_LIMIT_FAIL_MODE ?? 'local',
  publicPerMinute: env.RATE_LIMIT_PUBLIC_PER_MINUTE ?? 300,
}));
