import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * A database of its own for one test file. With DATABASE_URL (CI's real PostgreSQL) a fresh database is created on
 * that server; without it, a fresh DATA_DIR for embedded PGlite. `env` is what to hand the code under test.
 */
export interface TestDatabase {
  env: { DATABASE_URL?: string; DATA_DIR: string };
  drop(): Promise<void>;
}

export async function createTestDatabase(base = process.env.DATABASE_URL): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xrouter-test-'));
  if (!base) {
    return {
      env: { DATA_DIR: dataDir },
      drop: () => Promise.resolve(rmSync(dataDir, { recursive: true, force: true })),
    };
  }
  const name = `xr_test_${randomUUID().slice(0, 8)}`;
  const admin = new Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), DATA_DIR: dataDir },
    drop: async () => {
      const client = new Client({ connectionString: base });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
