import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

class HealthEnv {
  /** Readiness fails while the event loop has lagged longer than this (the process cannot serve in time). */
  @IsOptional() @IsInt() @Min(50) @Max(600_000) READINESS_MAX_EVENT_LOOP_LAG_MS?: number;
}

/** The `health` config namespace: `READINESS_MAX_EVENT_LOOP_LAG_MS` (default 5000). */
export const healthConfig = defineConfig('health', HealthEnv, (env) => ({
  maxEventLoopLagMs: env.READINESS_MAX_EVENT_LOOP_LAG_MS ?? 5_000,
}));
