import { createTestDatabase, TestDatabase } from '../support/test-database';
import { runGatewayToExit, startGateway, writeRoutingConfig } from '../support/processes';

const KEY_LINE = /\n\s+(xr-[A-Za-z0-9_-]{43})\n/;

describe('gateway start-up', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('should refuse to start naming every bad variable at once', async () => {
    const { code, output } = await runGatewayToExit({
      ...db.env,
      PORT: '99999',
      REDIS_URL: 'http://not-redis',
      ADMIN_API_KEY: 'short',
    });
    expect(code).toBe(1);
    expect(output).toContain('PORT');
    expect(output).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
    expect(output).toContain('ADMIN_API_KEY: must be at least 20 characters');
  });

  it('should refuse a bad routing config naming the path and line', async () => {
    const file = writeRoutingConfig(
      [
        'providers:',
        '  - id: mts',
        '    type: openai',
        '    base_url: http://127.0.0.1:1/v1',
        '    accounts: [{ id: main, api_key: k }]',
        'models:',
        '  - name: m',
        '    deployments:',
        '      - { provider: nobody, model: x }',
      ].join('\n'),
    );
    const { code, output } = await runGatewayToExit({ ...db.env, XROUTER_CONFIG: file });
    expect(code).toBe(1);
    expect(output).toContain(`Invalid routing config ${file}`);
    expect(output).toContain("models[0].deployments[0].provider (line 9): unknown provider 'nobody'");
  });

  it('should generate an admin key once on a first start, print it, and keep it across restarts', async () => {
    const first = await startGateway({ ...db.env });
    const printed = KEY_LINE.exec(first.output());
    await first.stop();
    expect(printed).not.toBeNull();
    const key = printed![1];

    const second = await startGateway({ ...db.env });
    try {
      expect(second.output()).not.toMatch(KEY_LINE);
      const res = await fetch(`${second.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
    } finally {
      await second.stop();
    }
  }, 90_000);

  it('should register ADMIN_API_KEY again on restart after it was revoked, and say so in the log', async () => {
    const own = await createTestDatabase();
    const env = { ...own.env, ADMIN_API_KEY: 'xr-e2e-bootstrap-admin-key-0123456789' };
    const asAdmin = (url: string, path: string, method = 'GET') =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${env.ADMIN_API_KEY}` } });
    try {
      const first = await startGateway(env);
      try {
        const keys = (await (await asAdmin(first.url, '/admin/api-keys')).json()) as Array<{
          id: string;
          name: string;
        }>;
        const bootstrap = keys.find((k) => k.name === 'bootstrap admin key');
        expect(bootstrap).toBeDefined();
        expect((await asAdmin(first.url, `/admin/api-keys/${bootstrap!.id}`, 'DELETE')).status).toBe(200);
        expect((await asAdmin(first.url, '/v1/models')).status).toBe(401);
      } finally {
        await first.stop();
      }

      const second = await startGateway(env);
      try {
        expect((await asAdmin(second.url, '/v1/models')).status).toBe(200);
        expect(second.output()).toContain('ADMIN_API_KEY was revoked or expired: registered it again');
      } finally {
        await second.stop();
      }
    } finally {
      await own.drop();
    }
  }, 90_000);
});
