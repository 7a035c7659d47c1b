import { connect, type Socket } from 'node:net';
import { createTestDatabase, TestDatabase } from '../support/test-database';
import { RunningProcess, startGateway } from '../support/processes';

const ADMIN_KEY = 'xr-e2e-admin-key-timeouts-012345678';
const HEADERS_TIMEOUT_MS = 600;
const REQUEST_TIMEOUT_MS = 1_200;
const KEEP_ALIVE_TIMEOUT_MS = 400;
/** node:http checks its timeouts every tenth of the shorter one; the rest is the machine being slow. */
const SLACK_MS = 1_000;

interface Closed {
  afterMs: number;
  received: string;
}

/** A raw connection to the gateway; resolves `closed` when the server ends it, with everything it sent. */
function open(url: string): Promise<{ socket: Socket; closed: Promise<Closed> }> {
  const { hostname, port } = new URL(url);
  return new Promise((ready, fail) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => (received += text));
    socket.once('error', fail);
    socket.once('connect', () => {
      const started = Date.now();
      const closed = new Promise<Closed>((done) =>
        socket.once('close', () => done({ afterMs: Date.now() - started, received })),
      );
      ready({ socket, closed });
    });
  });
}

/** Writes `text` one byte per `everyMs` until the socket closes or the text ends. */
async function dribble(socket: Socket, text: string, everyMs: number): Promise<void> {
  for (const char of text) {
    if (socket.destroyed || socket.writableEnded) return;
    socket.write(char);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Slow and idle clients cannot hold the gateway's sockets: node:http answers 408 and closes within the bound. */
describe('HTTP timeouts of the running gateway', () => {
  let db: TestDatabase;
  let gateway: RunningProcess;

  beforeAll(async () => {
    db = await createTestDatabase();
    gateway = await startGateway({
      ...db.env,
      ADMIN_API_KEY: ADMIN_KEY,
      HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_TIMEOUT_MS),
    });
  }, 60_000);

  afterAll(async () => {
    await gateway?.stop();
    await db?.drop();
  });

  it('should cut a chat body sent one byte at a time with a 408 once the request timeout is over', async () => {
    const { socket, closed } = await open(gateway.url);
    const body = JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'x'.repeat(200) }] });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    );
    void dribble(socket, body, 50);
    const { afterMs, received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    expect(afterMs).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
  });

  it('should cut headers sent one byte at a time with a 408 once the headers timeout is over', async () => {
    const { socket, closed } = await open(gateway.url);
    void dribble(socket, `GET /v1/models HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`, 50);
    const { afterMs, received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(afterMs).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  });

  it('should close connections that never send a request, however many', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, () => open(gateway.url)));
    const closed = await Promise.all(sockets.map((s) => s.closed));
    expect(Math.max(...closed.map((c) => c.afterMs))).toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
  });

  it('should close an idle keep-alive connection after the keep-alive timeout, having answered its request', async () => {
    const { socket, closed } = await open(gateway.url);
    socket.write(`GET /v1/models HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n\r\n`);
    const { afterMs, received } = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
    expect(received).toContain(`Keep-Alive: timeout=${Math.floor(KEEP_ALIVE_TIMEOUT_MS / 1000)}`);
    // node:http advertises the keep-alive timeout and closes a second later, so a client never reuses a closing socket.
    expect(afterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_TIMEOUT_MS);
    expect(afterMs).toBeLessThan(KEEP_ALIVE_TIMEOUT_MS + 1_000 + SLACK_MS);
  });

  it('should still serve a request that takes its time within the bounds', async () => {
    const { socket, closed } = await open(gateway.url);
    const body = JSON.stringify({ model: 'mws-gpt-alpha', messages: [{ role: 'user', content: 'hi' }] });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer ${ADMIN_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
    await dribble(socket, body, 5);
    expect((await closed).received).toMatch(/^HTTP\/1\.1 200 /);
  });
});
