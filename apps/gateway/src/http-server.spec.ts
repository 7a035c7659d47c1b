import { Agent, createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { stopAccepting } from './http-server';

describe('stopAccepting', () => {
  let server: Server;
  let port: number;
  let closing: boolean;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });

  async function listen(keepAliveTimeout: number): Promise<void> {
    closing = false;
    server = createServer({ keepAliveTimeout }, (_req, res) => {
      if (closing) res.setHeader('connection', 'close');
      res.end('ok');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    port = (server.address() as { port: number }).port;
  }

  afterEach(() => {
    agent.destroy();
    server.closeAllConnections();
  });

  const get = () =>
    new Promise<{ reused: boolean; connection?: string }>((done, fail) => {
      const req = request({ host: '127.0.0.1', port, agent }, (res) => {
        res.resume();
        res.on('end', () => done({ reused: req.reusedSocket, connection: res.headers.connection }));
      });
      req.on('error', fail);
      req.end();
    });

  const connected = () =>
    new Promise<Socket>((done, fail) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => done(socket));
      socket.once('error', fail);
    });

  it('should refuse new connections but answer the next request on an idle keep-alive one, then end', async () => {
    await listen(5_000);
    expect(await get()).toEqual({ reused: false, connection: 'keep-alive' });
    closing = true;
    let ended = false;
    const drained = stopAccepting(server).then(() => (ended = true));
    await expect(connected()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(ended).toBe(false);
    expect(await get()).toEqual({ reused: true, connection: 'close' });
    await drained;
    expect(ended).toBe(true);
  });

  it('should end an idle keep-alive connection only when its keep-alive timeout runs out', async () => {
    await listen(300);
    // A client that never closes on its own (node's Agent would, on the `keep-alive: timeout` hint).
    const socket = await connected();
    const answered = new Promise((done) => socket.once('data', done));
    socket.write('GET / HTTP/1.1\r\nHost: test\r\n\r\n');
    await answered;
    const started = Date.now();
    await stopAccepting(server);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
