import {
  IsInt,
  IsOptional,
  Max,
  Min,
  Validate,
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';
import { defineConfig } from '@xrouter/config';

export const USAGE_DEFAULTS = {
  batchSize: 500,
  flushIntervalMs: 1_000,
  bufferMax: 100_000,
  shutdownFlushMs: 10_000,
  partitionsAheadDays: 7,
  retentionDays: 90,
} as const;

@ValidatorConstraint({ name: 'holdsOneBatch' })
class HoldsOneBatch implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const batch = (args.object as UsageEnv).USAGE_BATCH_SIZE ?? USAGE_DEFAULTS.batchSize;
    return typeof value === 'number' && value >= batch;
  }

  defaultMessage(): string {
    return 'USAGE_BUFFER_MAX must be at least USAGE_BATCH_SIZE';
  }
}

class UsageEnv {
  @IsOptional() @IsInt() @Min(1) @Max(10_000) USAGE_BATCH_SIZE?: number;
  @IsOptional() @IsInt() @Min(10) @Max(600_000) USAGE_FLUSH_INTERVAL_MS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(10_000_000) @Validate(HoldsOneBatch) USAGE_BUFFER_MAX?: number;
  @IsOptional() @IsInt() @Min(0) @Max(600_000) USAGE_SHUTDOWN_FLUSH_MS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(366) USAGE_PARTITIONS_AHEAD_DAYS?: number;
  @IsOptional() @IsInt() @Min(1) @Max(36_600) USAGE_RETENTION_DAYS?: number;
}

export interface UsageSettings {
  /** Rows per INSERT; a full batch is written without waiting for the interval. */
  batchSize: number;
  /** Longest a row waits in memory before it is written, when the database is up. */
  flushIntervalMs: number;
  /** Rows held in memory at most (while the database is down); beyond it the oldest are dropped and counted. */
  bufferMax: number;
  /** How long shutdown keeps trying to write what is still held. */
  shutdownFlushMs: number;
  /** Day partitions created ahead of today. */
  partitionsAheadDays: number;
  /** Day partitions older than this many days are dropped whole. */
  retentionDays: number;
}

export function usageSettingsFromEnv(env: UsageEnv): UsageSettings {
  return {
    batchSize: env.USAGE_BATCH_SIZE ?? USAGE_DEFAULTS.batchSize,
    flushIntervalMs: env.USAGE_FLUSH_INTERVAL_MS ?? USAGE_DEFAULTS.flushIntervalMs,
    bufferMax: env.USAGE_BUFFER_MAX ?? USAGE_DEFAULTS.bufferMax,
    shutdownFlushMs: env.USAGE_SHUTDOWN_FLUSH_MS ?? USAGE_DEFAULTS.shutdownFlushMs,
    partitionsAheadDays: env.USAGE_PARTITIONS_AHEAD_DAYS ?? USAGE_DEFAULTS.partitionsAheadDays,
    retentionDays: env.USAGE_RETENTION_DAYS ?? USAGE_DEFAULTS.retentionDays,
  };
}

/**
 * The `usage` config namespace: `USAGE_BATCH_SIZE`, `USAGE_FLUSH_INTERVAL_MS`, `USAGE_BUFFER_MAX`,
 * `USAGE_SHUTDOWN_FLUSH_MS`, `USAGE_PARTITIONS_AHEAD_DAYS`, `USAGE_RETENTION_DAYS`.
 */
export const usageConfig = defineConfig('usage', UsageEnv, usageSettingsFromEnv);
