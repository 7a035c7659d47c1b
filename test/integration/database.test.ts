import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv, MIGRATIONS, runMigrations } from '@xrouter/database';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

describe(`migrations on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should create the schema on an empty database and be a no-op the second time', async () => {
    expect(await runMigrations(dataSource)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(await runMigrations(dataSource)).toEqual([]);
    const tables = await dataSource.query<Array<{ table_name: string }>>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'api_keys',
      'migrations',
      'oauth_clients',
      'oauth_tokens',
      'request_logs',
      'request_logs_default',
      'responses',
      'responses_default',
      'users',
    ]);
  });

  it('should enforce one key per secret hash and one user per email, case-insensitively', async () => {
    const [user] = await dataSource.query<Array<{ id: string }>>(
      `INSERT INTO users (email, role) VALUES ('A@x.io', 'user') RETURNING id`,
    );
    await expect(dataSource.query(`INSERT INTO users (email, role) VALUES ('a@X.io', 'user')`)).rejects.toThrow();
    const insertKey = () =>
      dataSource.query(`INSERT INTO api_keys (user_id, name, prefix, secret_hash) VALUES ($1, 'k', 'xr-1', $2)`, [
        user.id,
        'a'.repeat(64),
      ]);
    await insertKey();
    await expect(insertKey()).rejects.toThrow();
    await expect(dataSource.query(`INSERT INTO users (email, role) VALUES ('b@x.io', 'root')`)).rejects.toThrow();
  });

  if (process.env.DATABASE_URL) {
    it('should let replicas migrate at the same time without applying anything twice', async () => {
      const fresh = await createTestDatabase();
      const sources = await Promise.all(
        [1, 2, 3].map(() => new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(fresh.env))).initialize()),
      );
      try {
        const applied = await Promise.all(sources.map((s) => runMigrations(s)));
        expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.name));
      } finally {
        await Promise.all(sources.map((s) => s.destroy()));
        await fresh.drop();
      }
    });
  }
});
