import type { DataSource } from 'typeorm';

/** Any fixed number: the advisory lock every replica (and the Helm hook) takes before migrating. */
const MIGRATION_LOCK_ID = 4_627_001;

/**
 * Applies pending migrations under a PostgreSQL advisory lock, so replicas starting together and the Helm
 * migration Job never run the same migration twice. Returns the names of the migrations it applied.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    await runner.release();
  }
}
