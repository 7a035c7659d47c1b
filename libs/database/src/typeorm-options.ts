import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import type { DatabaseSettings } from './database.config';
import { MIGRATIONS } from './migrations';

/**
 * The one place that turns database settings into TypeORM options, for the Nest module and the migration CLI alike.
 * Without DATABASE_URL the same PostgreSQL dialect runs on embedded PGlite (WASM Postgres) under DATA_DIR.
 */
export function buildDataSourceOptions(
  settings: DatabaseSettings,
  entities: DataSourceOptions['entities'] = [],
): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    // The schema uses only core functions (gen_random_uuid() is built in since PostgreSQL 13); PGlite has no
    // uuid-ossp, and managed PostgreSQL often forbids CREATE EXTENSION.
    installExtensions: false,
    // Failures surface as thrown errors; TypeORM's own logger would print parameters past the redacting logger.
    logging: false,
  };
  if (settings.url) {
    return { ...common, url: settings.url, extra: { max: settings.poolSize, connectionTimeoutMillis: 5_000 } };
  }
  const dataDir = join(settings.dataDir, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  return { ...common, driver: new PGliteDriver({ dataDir }).driver };
}
