import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, databaseSettingsFromEnv, runMigrations } from '@xrouter/database';
import { addDays, PartitionMaintenanceService, partitionName, utcDay } from '@xrouter/usage';
import { RECENT_MS, ResponseStore, type StoredResponse } from '../../apps/gateway/src/openai/responses/response.store';
import { RESPONSES_PARTITIONS } from '../../apps/gateway/src/openai/responses/responses.providers';
import { newId, responseShell, parseResponseRequest } from '../../apps/gateway/src/openai/responses/responses-mapping';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const engine = process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite';

function stored(id: string, userId: string, createdAt: Date): StoredResponse {
  const parsed = parseResponseRequest({ model: 'GigaChat-2', input: 'nul \u0000 kept' });
  return {
    id,
    createdAt,
    userId,
    context: [],
    input: parsed.input,
    response: responseShell(parsed.settings, id, Math.floor(createdAt.getTime() / 1000)),
  };
}

describe(`stored responses on ${engine}`, () => {
  let db: TestDatabase;
  let dataSource: DataSource;
  let store: ResponseStore;
  const today = utcDay(new Date());
  const maintenance = () =>
    new PartitionMaintenanceService(dataSource, { partitionsAheadDays: 2, retentionDays: 30 }, RESPONSES_PARTITIONS);

  beforeAll(async () => {
    db = await createTestDatabase();
    dataSource = await new DataSource(buildDataSourceOptions(databaseSettingsFromEnv(db.env))).initialize();
    await runMigrations(dataSource);
    store = new ResponseStore(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.drop();
  });

  it('should keep a response for its user only, with a NUL character in its input, and delete it once', async () => {
    const [owner, other] = [randomUUID(), randomUUID()];
    await store.save(stored('resp_a', owner, new Date()));
    expect((await store.find('resp_a', owner))?.input).toEqual([
      expect.objectContaining({ content: [{ type: 'input_text', text: 'nul \u0000 kept' }] }),
    ]);
    expect(await store.find('resp_a', other)).toBeNull();
    expect(await store.delete('resp_a', other)).toBe(false);
    expect(await store.delete('resp_a', owner)).toBe(true);
    expect(await store.delete('resp_a', owner)).toBe(false);
  });

  it('should find a just-made response whose insert another replica has not finished yet, and miss an old one', async () => {
    const user = randomUUID();
    const elsewhere = new ResponseStore(dataSource); // another replica's store, on the same database
    const id = newId('resp');
    const finding = store.find(id, user);
    setTimeout(() => void elsewhere.save(stored(id, user, new Date())), 300);
    expect((await finding)?.id).toBe(id);

    const old = `resp_${(Date.now() - 60_000).toString(16).padStart(12, '0')}${'0'.repeat(36)}`;
    const started = Date.now();
    expect(await store.find(old, user)).toBeNull();
    expect(Date.now() - started).toBeLessThan(RECENT_MS / 10); // asked once: an old id is not waited for
  });

  it('should partition responses by day and drop the partitions past retention whole', async () => {
    const old = addDays(today, -40);
    const user = randomUUID();
    await store.save(stored('resp_old', user, old));
    await store.save(stored('resp_new', user, new Date()));
    // The old row's day is past retention: it gets no partition, and the row is purged from DEFAULT.
    const result = await maintenance().maintain();
    expect(result.created).toEqual(
      expect.arrayContaining([partitionName(today, 'responses'), partitionName(addDays(today, 2), 'responses')]),
    );
    expect(result.purged).toBe(1);
    expect(await store.find('resp_old', user)).toBeNull();
    expect((await store.find('resp_new', user))?.id).toBe('resp_new');
    const [row] = await dataSource.query<Array<{ partition: string }>>(
      `SELECT tableoid::regclass::text AS partition FROM responses WHERE id = 'resp_new'`,
    );
    expect(row.partition).toBe(partitionName(today, 'responses'));
  });
});
