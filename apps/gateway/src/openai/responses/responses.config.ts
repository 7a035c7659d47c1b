import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

export const RESPONSES_DEFAULTS = { retentionDays: 30 } as const;

class ResponsesEnv {
  @IsOptional() @IsInt() @Min(1) @Max(36_600) RESPONSES_RETENTION_DAYS?: number;
}

export interface ResponsesSettings {
  /** Stored responses' day partitions older than this many days are dropped whole. */
  retentionDays: number;
}

/** The `responses` config namespace: `RESPONSES_RETENTION_DAYS` (default 30). */
export const responsesConfig = defineConfig('responses', ResponsesEnv, (env): ResponsesSettings => ({
  retentionDays: env.RESPONSES_RETENTION_DAYS ?? RESPONSES_DEFAULTS.retentionDays,
}));
