import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { callApi } from '../support/api';
import { GATEWAY_ENTRY, RunningProcess, startGateway } from '../support/processes';
import { createTestDatabase, TestDatabase } from '../support/test-database';

const ADMIN_KEY = 'xr-e2e-admin-key-route-policy-0123456789';

/** Who may call a route: anyone; any credential (`[]`); a credential holding each listed scope. */
type Policy = 'public' | string[];

/**
 * Every route the gateway serves, and who may call it — one table, in the manner of Immich's controller specs. A
 * route added without a line here, or with another policy than the line says, fails the first test; the others
 * prove each line against the running gateway.
 */
const ROUTES: Record<string, Policy> = {
  'GET /health/live': 'public',
  'GET /health/ready': 'public',
  'GET /health': 'public',
  'GET /metrics': 'public',
  'GET /.well-known/oauth-authorization-server': 'public',
  'GET /oauth/authorize': 'public',
  'POST /oauth/authorize': 'public',
  'POST /oauth/token': 'public',
  'POST /oauth/revoke': 'public',

  'POST /v1/chat/completions': ['chat'],
  'POST /v1/completions': ['chat'],
  'POST /v1/embeddings': ['embeddings'],
  'POST /v1/responses': ['chat'],
  'GET /v1/responses': ['chat'],
  'GET /v1/responses/:id': ['chat'],
  'GET /v1/responses/:id/input_items': ['chat'],
  'DELETE /v1/responses/:id': ['chat'],
  'GET /v1/models': [],
  'GET /v1/models/*id': [],

  'GET /account/usage': [],
  'GET /account/budget': [],
  'POST /account/api-keys': ['keys'],
  'GET /account/api-keys': ['keys'],
  'GET /account/api-keys/:id': ['keys'],
  'DELETE /account/api-keys/:id': ['keys'],
  'POST /account/api-keys/:id/rotate': ['keys'],

  'POST /admin/users': ['admin'],
  'GET /admin/users': ['admin'],
  'GET /admin/users/:id': ['admin'],
  'POST /admin/users/:id/disable': ['admin'],
  'POST /admin/users/:id/enable': ['admin'],
  'PUT /admin/users/:id/budget': ['admin'],
  'POST /admin/api-keys': ['admin'],
  'GET /admin/api-keys': ['admin'],
  'GET /admin/api-keys/:id': ['admin'],
  'DELETE /admin/api-keys/:id': ['admin'],
  'PUT /admin/api-keys/:id/budget': ['admin'],
  'POST /admin/api-keys/:id/rotate': ['admin'],
  'POST /admin/oauth-clients': ['admin'],
  'GET /admin/oauth-clients': ['admin'],
  'DELETE /admin/oauth-clients/:id': ['admin'],
  'GET /admin/providers': ['admin'],
  'GET /admin/usage': ['admin'],
};

/** The routes served ahead of express by the fast dispatcher (the rest go through express and Nest). */
const FAST = ['POST /v1/chat/completions', 'POST /v1/completions', 'POST /v1/embeddings', 'POST /v1/responses'];

interface DeclaredRoute {
  method: string;
  path: string;
  policy: 'public' | { scopes: string[] };
  fast: boolean;
}

/** A concrete path for a route template: an id that exists nowhere, a model for the wildcard. */
function concrete(path: string): string {
  return path.replace(/:id/g, randomUUID()).replace(/\*id/g, 'GigaChat-2');
}

const entries = Object.entries(ROUTES).map(([route, policy]) => {
  const [method, path] = route.split(' ');
  return { route, method, path, policy };
});
const closed = entries.filter((e) => e.policy !== 'public');

/**
 * Sends the headers of a POST declaring `declaredBytes` and then only `sentBytes` of it, and waits for the answer.
 * A gateway that reads the body before answering cannot answer: it is still waiting for the rest.
 */
function partialPost(
  url: string,
  path: string,
  declaredBytes: number,
  sentBytes: number,
  key?: string,
  waitMs = 5_000,
) {
  const { hostname, port } = new URL(url);
  return new Promise<{ head: string; sent: number; closed: boolean }>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer with ${sentBytes} of ${declaredBytes} bytes sent: ${answer}`));
    }, waitMs);
    socket.on('data', (data: Buffer) => {
      answer += data.toString();
      if (answer.includes('\r\n\r\n') && answer.includes('}')) {
        clearTimeout(timer);
        socket.once('close', () => resolve({ head: answer, sent: sentBytes, closed: true }));
        setTimeout(() => resolve({ head: answer, sent: sentBytes, closed: socket.destroyed }), 2_000).unref();
      }
    });
    socket.on('error', () => undefined);
    socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
        `content-length: ${declaredBytes}\r\n${key ? `authorization: Bearer ${key}\r\n` : ''}\r\n`,
    );
    socket.write(Buffer.alloc(sentBytes, 0x20));
  });
}

/** A gateway of its own (its own database), with a user's key holding every scope a user can, and one with none. */
interface Door {
  db: TestDatabase;
  gateway: RunningProcess;
  url: string;
  userKey: string;
  noScopeKey: string;
}

async function openDoor(env: Record<string, string> = {}): Promise<Door> {
  const db = await createTestDatabase();
  const gateway = await startGateway({ ...db.env, ADMIN_API_KEY: ADMIN_KEY, ...env });
  const user = await callApi<{ id: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/users', {
    email: 'route-policy@example.com',
    role: 'user',
  });
  const key = async (scopes: string[]) =>
    (
      await callApi<{ key: string }>(gateway.url, ADMIN_KEY, 'POST', '/admin/api-keys', {
        name: `scopes ${scopes.join(',')}`,
        user_id: user.json.id,
        scopes,
      })
    ).json.key;
  return {
    db,
    gateway,
    url: gateway.url,
    userKey: await key(['chat', 'embeddings', 'keys']),
    noScopeKey: await key([]),
  };
}

describe('route policy: who may call each route', () => {
  /** The fast dispatcher in front (the default), and Nest alone (`FAST_ROUTES=false`): both must hold every line. */
  const doors: Door[] = [];

  beforeAll(async () => {
    doors.push(await openDoor(), await openDoor({ FAST_ROUTES: 'false' }));
  }, 90_000);

  afterAll(async () => {
    for (const door of doors) {
      await door.gateway.stop();
      await door.db.drop();
    }
  });

  it('should declare exactly the routes of the table, each with its policy, from the controllers', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [GATEWAY_ENTRY, 'routes'], {
      env: { ...process.env, ...doors[0].db.env },
    });
    const declared = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as DeclaredRoute);
    const asTable = Object.fromEntries(
      declared.map((r) => [`${r.method} ${r.path}`, r.policy === 'public' ? 'public' : r.policy.scopes]),
    );
    expect(asTable).toEqual(ROUTES);
    expect(declared.filter((r) => r.fast).map((r) => `${r.method} ${r.path}`)).toEqual(FAST);
  });

  it.each(closed)('should refuse $route to an anonymous caller with a 401', async ({ method, path }) => {
    for (const { url } of doors) {
      const res = await fetch(`${url}${concrete(path)}`, { method });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    }
  });

  it.each(entries.filter((e) => e.policy === 'public'))(
    'should serve $route to an anonymous caller',
    async ({ method, path }) => {
      const res = await fetch(`${doors[0].url}${concrete(path)}`, { method, redirect: 'manual' });
      expect([401, 403]).not.toContain(res.status);
      expect(res.status).toBeLessThan(500);
    },
  );

  it.each(closed.filter((e) => e.policy.length > 0))(
    'should refuse $route with a 403 to a credential without the $policy scope',
    async ({ method, path, policy }) => {
      for (const { url, userKey, noScopeKey } of doors) {
        const key = policy.includes('admin') ? userKey : noScopeKey;
        const res = await callApi<{ error: { code: string } }>(url, key, method, concrete(path));
        expect(res.status).toBe(403);
        expect(res.json.error.code).toBe('permission_denied');
      }
    },
  );

  it.each(closed.filter((e) => e.policy.length === 0))(
    'should serve $route to any credential',
    async ({ method, path }) => {
      for (const { url, noScopeKey } of doors) {
        const res = await callApi(url, noScopeKey, method, concrete(path));
        expect(res.status).toBe(200);
      }
    },
  );

  it.each(['/admin/users', '/v1/chat/completions', '/account/api-keys'])(
    'should answer an anonymous 10 MB POST to %s with a 401 after reading 64 KB of it, and close the connection',
    async (path) => {
      for (const { url } of doors) {
        const answer = await partialPost(url, path, 10 * 1024 * 1024, 64 * 1024);
        expect(answer.head).toMatch(/^HTTP\/1\.1 401 /);
        expect(answer.head).toMatch(/\r\nconnection: close\r\n/i);
        expect(answer.sent).toBe(64 * 1024);
        expect(answer.closed).toBe(true);
      }
    },
  );

  it('should read the body of an admitted caller (the partial POST waits for the rest)', async () => {
    for (const { url } of doors) {
      await expect(partialPost(url, '/admin/users', 1024, 512, ADMIN_KEY, 1_000)).rejects.toThrow(/no answer/);
    }
  });

  it.each(['/v1/chat/completions', '/admin/users'])(
    'should refuse a body in neither JSON nor a form on %s with a 415, after the credential is checked',
    async (path) => {
      for (const { url, userKey } of doors) {
        const post = (key: string) =>
          fetch(`${url}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' },
            body: '{"model":"GigaChat-2"}',
          });
        expect((await post('xr-not-a-key')).status).toBe(401);
        const refused = await post(path.startsWith('/admin') ? ADMIN_KEY : userKey);
        expect(refused.status).toBe(415);
        expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('unsupported_media_type');
      }
    },
  );

  it('should answer the LLM routes the same through the fast dispatcher and through Nest', async () => {
    type Case = [path: string, key: 'none' | 'user' | 'noScope', body: unknown];
    const chat = { model: 'GigaChat-2', messages: [{ role: 'user', content: 'hi' }] };
    const cases: Case[] = [
      ['/v1/chat/completions', 'none', chat],
      ['/v1/chat/completions', 'noScope', chat],
      ['/v1/chat/completions', 'user', [1, 2]],
      ['/v1/chat/completions', 'user', { model: 'GigaChat-2', messages: 'hi' }],
      ['/v1/chat/completions', 'user', { ...chat, model: 'no-such-model' }],
      ['/v1/chat/completions', 'user', chat],
      ['/v1/embeddings', 'user', { model: 'nope', input: 'hi' }],
      ['/v1/embeddings', 'user', { input: 'hi' }],
      ['/v1/responses', 'user', { model: 'GigaChat-2', input: 'hi', background: true }],
      ['/v1/responses', 'user', { model: 'GigaChat-2', input: 'hi' }],
    ];
    for (const [path, who, body] of cases) {
      const answers = await Promise.all(
        doors.map(async (door) => {
          const key = who === 'user' ? door.userKey : who === 'noScope' ? door.noScopeKey : undefined;
          const res = await fetch(`${door.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
            body: JSON.stringify(body),
          });
          const json = (await res.json()) as { error?: { code: string; param: string | null }; object?: string };
          return { status: res.status, error: json.error, object: json.object };
        }),
      );
      expect({ path, who, body, answer: answers[1] }).toEqual({ path, who, body, answer: answers[0] });
    }
  });
});
