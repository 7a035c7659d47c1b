/**
 * `npm run migrate`: applies pending migrations and exits. The Helm chart runs it as a pre-install/pre-upgrade hook;
 * the gateway also runs it at start under the same advisory lock, so either order is safe.
 */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { databaseConfig } from './database.config';
import { runMigrations } from './run-migrations';
import { buildDataSourceOptions } from './typeorm-options';

async function main(): Promise<void> {
  const dataSource = await new DataSource(buildDataSourceOptions(databaseConfig())).initialize();
  try {
    const applied = await runMigrations(dataSource);
    process.stdout.write(`${JSON.stringify({ msg: 'migrations applied', applied })}\n`);
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
