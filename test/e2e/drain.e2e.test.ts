import { Agent, request, type OutgoingHttpHeaders } from 'node:http';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-drain-0123456789ab';
const DELAY_MS = 1_500;
/** Longer than the test's idle connection stays idle, so only the drain could close it. */
const KEEP_ALIVE_TIMEOUT_MS = 8_000;
const CLIENTS = 16;

interface Outcome {
  startedAt: number;
  endedAt?: number;
  /** Sent on a connection an earlier request used (node's `request.reusedSocket`): an established one. */
  reused?: boolean;
  status?: number;
  connection?: string;
  body?: string;
  error?: string;
}

/** One request through `agent`; never rejects: a failure is in `error`, with whether the connection was reused. */
function send(agent: Agent, url: string, path: string, headers: OutgoingHttpHeaders = {}, body?: string) {
  const startedAt = Date.now();
  return new Promise<Outcome>((done) => {
    const req = request(`${url}${path}`, { agent, method: body ? 'POST' : 'GET', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => end({ status: res.statusCode, connection: res.headers.connection, body: text }));
      res.on('error', fail);
    });
    const end = (result: Partial<Outcome>) =>
      done({ startedAt, endedAt: Date.now(), reused: req.reusedSocket, ...result });
    const fail = (error: NodeJS.ErrnoException) => end({ error: error.code ?? error.message });
    req.on('error', fail);
    req.end(body);
  });
}

/**
 * SIGTERM under keep-alive load: readiness turns 503 at once while the gateway keeps accepting connections for
 * SHUTDOWN_DELAY_MS, every answer says `connection: close` so each client reconnects (to another replica, behind a
 * load balancer), and no connection is closed under a request already sent on it. Only a new connection after the
 * listener closed may fail (refused) — a balancer retries that one elsewhere.
 */
describe('draining a gateway on SIGTERM', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  /** One connection that goes idle before SIGTERM and is used again only after the listener closed. */
  const idle = new Agent({ keepAlive: true, maxSockets: 1 });

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      SHUTDOWN_DELAY_MS: String(DELAY_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop('SIGKILL');
    agent.destroy();
    idle.destroy();
    await db?.drop();
  });

  it('should reset no keep-alive request, answer each with connection: close and accept connections through the delay', async () => {
    const created = await send(
      agent,
      gateway.url,
      '/admin/api-keys',
      { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      JSON.stringify({ name: 'drain' }),
    );
    const { key } = JSON.parse(created.body ?? '{}') as { key: string };
    const body = JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

    let exited = false;
    let refusedAt = Infinity;
    const outcomes: Outcome[] = [];
    // Back to back, with a few milliseconds between requests in which the connection sits idle, as real clients do.
    const worker = async () => {
      while (!exited) {
        const outcome = await send(agent, gateway.url, '/v1/chat/completions', headers, body);
        outcomes.push(outcome);
        if (outcome.error) {
          if (!outcome.reused) refusedAt = Math.min(refusedAt, outcome.endedAt ?? Infinity);
          return; // a new connection failed: the listener is closed (a balancer would retry on another replica)
        }
        await new Promise((r) => setTimeout(r, Math.random() * 10));
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, worker));
    expect((await send(idle, gateway.url, '/health/live')).status).toBe(200);

    await new Promise((r) => setTimeout(r, 1_000));
    const signalledAt = Date.now();
    const exit = gateway.stop('SIGTERM').finally(() => (exited = true));

    // Readiness, each probe on a new connection (the gateway accepts them until the delay is over).
    const readiness: Outcome[] = [];
    for (;;) {
      const probe = await send(new Agent({ keepAlive: false }), gateway.url, '/health/ready');
      if (probe.error) break;
      readiness.push(probe);
      await new Promise((r) => setTimeout(r, 50));
    }
    while (refusedAt === Infinity && !exited) await new Promise((r) => setTimeout(r, 20));
    // The listener is closed; the idle connection is still open, and its next request is answered, then closed.
    const late = await send(idle, gateway.url, '/health/live');

    await load;
    expect(await exit).toBe(0);
    const resets = outcomes.filter((o) => o.error && o.reused);
    expect(resets).toEqual([]);
    expect(outcomes.filter((o) => o.status !== undefined && o.status !== 200)).toEqual([]);
    expect(late).toMatchObject({ reused: true, status: 200, connection: 'close' });
    // New connections were accepted for the whole delay: the first refused one came after it.
    expect(refusedAt - signalledAt).toBeGreaterThanOrEqual(DELAY_MS);
    const drainingAt = readiness.find((r) => r.status === 503)?.endedAt ?? Infinity;
    expect(drainingAt - signalledAt).toBeLessThan(500);
    expect(readiness.filter((r) => r.startedAt >= drainingAt && r.status !== 503)).toEqual([]);
    expect(readiness.filter((r) => r.status === 503).length).toBeGreaterThan(5);
    // Served after readiness said draining (so sent after SIGTERM was handled), each answer with `connection: close`.
    const afterDraining = outcomes.filter((o) => o.startedAt >= drainingAt && o.status !== undefined);
    expect(afterDraining.length).toBeGreaterThanOrEqual(CLIENTS);
    expect(afterDraining.filter((o) => o.connection !== 'close')).toEqual([]);
  }, 60_000);
});
