import 'reflect-metadata';
import { DataSource } from 'typeorm';
import {
  ApiKeyEntity,
  ApiKeyResolver,
  CredentialService,
  displayPrefix,
  generateApiKeySecret,
  hashSecret,
  UserEntity,
} from '@xrouter/auth';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import { createStore, type Store } from '@xrouter/store';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const storeKind = process.env.REDIS_URL ? 'Redis' : 'the in-process store';

/**
 * Two CredentialService instances stand for two replicas: each with its own cache, sharing the database and the
 * store (Redis in CI; the in-process store shares pub/sub within the process, as one replica would).
 */
describe(`credential cache and revocation across replicas (${storeKind})`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let stores: Store[];
  let replicas: CredentialService[];
  let userId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(
      buildDataSourceOptions(databaseSettingsFromEnv(db.env), [UserEntity, ApiKeyEntity]),
    ).initialize();
    await runMigrations(dataSource);
    const [user] = await dataSource.query<Array<{ id: string }>>(
      `INSERT INTO users (email, role) VALUES ('dev@example.com', 'user') RETURNING id`,
    );
    userId = user.id;
    const prefix = `xr-test-${Date.now()}:`;
    const shared = createStore({ redisUrl: process.env.REDIS_URL, keyPrefix: prefix });
    stores = process.env.REDIS_URL
      ? [shared, createStore({ redisUrl: process.env.REDIS_URL, keyPrefix: prefix })]
      : [shared];
    replicas = [0, 1].map(
      (i) =>
        new CredentialService([new ApiKeyResolver(dataSource)], stores[i % stores.length], {
          adminApiKey: null,
          cacheTtlMs: 60_000,
        }),
    );
    await Promise.all(replicas.map((r) => r.onModuleInit()));
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.onModuleDestroy()));
    await Promise.all((stores ?? []).map((s) => s.close()));
    await dataSource?.destroy();
    await db?.drop();
  });

  async function createKey(overrides: Partial<ApiKeyEntity> = {}): Promise<{ secret: string; id: string }> {
    const secret = generateApiKeySecret();
    const key = await dataSource.getRepository(ApiKeyEntity).save({
      userId,
      name: 'test',
      prefix: displayPrefix(secret),
      secretHash: hashSecret(secret),
      scopes: ['chat'],
      allowedModels: null,
      ...overrides,
    });
    return { secret, id: key.id };
  }

  async function eventually(check: () => Promise<boolean>, withinMs = 1_000): Promise<boolean> {
    const until = Date.now() + withinMs;
    while (Date.now() < until) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return check();
  }

  it('should resolve a key to its principal on every replica', async () => {
    const { secret, id } = await createKey();
    for (const replica of replicas) {
      expect(await replica.authenticate(secret)).toMatchObject({
        credentialId: id,
        userId,
        scopes: ['chat'],
      });
    }
  });

  it('should serve a cached key without the database', async () => {
    const { secret, id } = await createKey();
    await replicas[0].authenticate(secret);
    await dataSource.query(`UPDATE api_keys SET name = 'renamed' WHERE id = $1`, [id]);
    await dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
    // Revoked in the database, but nobody announced it: the cache still answers (this is what invalidation is for).
    expect(await replicas[0].authenticate(secret)).not.toBeNull();
  });

  it('should stop a key revoked mid-session on every replica within a second', async () => {
    const { secret, id } = await createKey();
    expect(await replicas[0].authenticate(secret)).not.toBeNull();
    expect(await replicas[1].authenticate(secret)).not.toBeNull();
    await dataSource.query(`UPDATE api_keys SET revoked_at = now() WHERE id = $1`, [id]);
    await replicas[0].invalidate(hashSecret(secret));
    expect(await replicas[0].authenticate(secret)).toBeNull();
    expect(await eventually(async () => (await replicas[1].authenticate(secret)) === null)).toBe(true);
  });

  it('should refuse an expired key even while cached', async () => {
    const { secret } = await createKey({ expiresAt: new Date(Date.now() + 300) });
    expect(await replicas[0].authenticate(secret)).not.toBeNull();
    await new Promise((r) => setTimeout(r, 400));
    expect(await replicas[0].authenticate(secret)).toBeNull();
  });

  it('should keep a known key working when the database fails, but not an unknown one', async () => {
    const { secret } = await createKey();
    const replica = new CredentialService([new ApiKeyResolver(dataSource)], stores[0], {
      adminApiKey: null,
      cacheTtlMs: 100,
    });
    await replica.onModuleInit();
    try {
      expect(await replica.authenticate(secret)).not.toBeNull();
      await new Promise((r) => setTimeout(r, 150));
      const spy = jest.spyOn(dataSource, 'query').mockRejectedValue(new Error('connection refused'));
      try {
        expect(await replica.authenticate(secret)).not.toBeNull();
        // Served again from the cache within its TTL: the down database is not asked on every request.
        const asked = spy.mock.calls.length;
        expect(await replica.authenticate(secret)).not.toBeNull();
        expect(spy.mock.calls.length).toBe(asked);
        await expect(replica.authenticate('xr-never-seen-before')).rejects.toMatchObject({
          code: 'service_unavailable',
        });
      } finally {
        spy.mockRestore();
      }
    } finally {
      await replica.onModuleDestroy();
    }
  });

  it('should refuse unknown keys, and make one query for a burst of the same unknown key', async () => {
    const spy = jest.spyOn(dataSource, 'query');
    const before = spy.mock.calls.length;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => replicas[0].authenticate('xr-unknown-key-for-burst')),
    );
    expect(results.every((r) => r === null)).toBe(true);
    expect(spy.mock.calls.length - before).toBe(1);
    spy.mockRestore();
  });
});
