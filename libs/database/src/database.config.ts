import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { defineConfig } from '@xrouter/config';

class DatabaseEnv {
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  /** A read replica for reports (usage, budgets' spend); the primary serves them when unset. */
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_READ_URL must be a postgres:// URL' })
  DATABASE_READ_URL?: string;

  @IsOptional() @IsString() DATA_DIR?: string;

  @IsOptional() @IsInt() @Min(1) @Max(200) DATABASE_POOL_SIZE?: number;
}

export interface DatabaseSettings {
  /** PostgreSQL URL; null means the embedded PGlite database in `dataDir`. */
  url: string | null;
  /** Read replica for reporting queries; null: the primary. Only with `url` (PGlite has no replicas). */
  readUrl: string | null;
  dataDir: string;
  poolSize: number;
}

export function databaseSettingsFromEnv(env: DatabaseEnv): DatabaseSettings {
  return {
    url: env.DATABASE_URL ?? null,
    readUrl: env.DATABASE_URL ? (env.DATABASE_READ_URL ?? null) : null,
    dataDir: env.DATA_DIR ?? './data',
    poolSize: env.DATABASE_POOL_SIZE ?? 10,
  };
}

export const databaseConfig = defineConfig('database', DatabaseEnv, databaseSettingsFromEnv);
