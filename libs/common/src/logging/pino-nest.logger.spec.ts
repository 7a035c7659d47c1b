import { Writable } from 'node:stream';
import { createServer, type Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { pino } from 'pino';
import { assignRequestId, requestLogMiddleware, rootLoggerOptions } from './logger.options';
import { PinoNestLogger } from './pino-nest.logger';

/** A pino logger on an in-memory stream, with the gateway's options (level, redaction). */
function capturedLogger(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino(rootLoggerOptions({ level, pretty: false }), stream), lines };
}

describe('PinoNestLogger', () => {
  it("should write Nest's Logger calls as JSON lines with their context", () => {
    const { logger, lines } = capturedLogger();
    const nest = new PinoNestLogger(logger);
    nest.log('started', 'Gateway');
    nest.warn({ provider: 'mts' }, 'circuit opened', 'CircuitBreaker');
    nest.debug('hidden at info', 'Gateway');
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'started', context: 'Gateway' }),
      expect.objectContaining({ level: 40, msg: 'circuit opened', provider: 'mts', context: 'CircuitBreaker' }),
    ]);
  });

  it("should keep the stack of Nest's error(message, stack, context) and serialize Error objects", () => {
    const { logger, lines } = capturedLogger();
    const nest = new PinoNestLogger(logger);
    nest.error('boom', 'Error: boom\n    at here', 'Errors');
    nest.error({ err: new Error('kaput'), code: 'internal_error' }, 'failed', 'Errors');
    expect(lines[0]).toMatchObject({ level: 50, msg: 'boom', stack: 'Error: boom\n    at here', context: 'Errors' });
    expect(lines[1]).toMatchObject({ msg: 'failed', code: 'internal_error', err: { message: 'kaput' } });
  });

  it('should redact credentials and prompts from any logged object', () => {
    const { logger, lines } = capturedLogger();
    new PinoNestLogger(logger).log({ account: { api_key: 'sk-secret', id: 'a' }, call: { messages: ['hi'] } }, 'x');
    expect(JSON.stringify(lines[0])).not.toContain('sk-secret');
    expect(lines[0]).toMatchObject({ account: { api_key: '[redacted]', id: 'a' }, call: { messages: '[redacted]' } });
  });

  it('should route a Nest Logger through it when it is the app logger', () => {
    const { logger, lines } = capturedLogger();
    Logger.overrideLogger(new PinoNestLogger(logger));
    try {
      new Logger('Usage').warn('held 3 rows');
    } finally {
      Logger.overrideLogger(['log', 'error', 'warn']);
    }
    expect(lines).toEqual([expect.objectContaining({ msg: 'held 3 rows', context: 'Usage' })]);
  });
});

describe('requestLogMiddleware', () => {
  let server: Server;
  let url: string;
  const { logger, lines } = capturedLogger();

  beforeAll(async () => {
    const log = requestLogMiddleware(logger);
    server = createServer((req, res) => {
      assignRequestId(req, res);
      log(req, res, () => {
        res.statusCode = req.url?.startsWith('/missing') ? 404 : 200;
        res.end('ok');
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => new Promise((done) => server.close(done)));

  it('should log one line per request with id, method, path without the query, status and duration', async () => {
    lines.length = 0;
    await fetch(`${url}/v1/models?api_key=sk-secret`, {
      headers: { 'x-request-id': 'req-1', authorization: 'Bearer xr-secret' },
    });
    await fetch(`${url}/missing`, { method: 'POST', body: '{"messages":["secret prompt"]}' });
    await new Promise((done) => setTimeout(done, 20));
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, reqId: 'req-1', method: 'GET', path: '/v1/models', status: 200 }),
      expect.objectContaining({ level: 40, method: 'POST', path: '/missing', status: 404, msg: 'request completed' }),
    ]);
    expect(typeof lines[0].ms).toBe('number');
    expect(JSON.stringify(lines)).not.toMatch(/secret/);
  });
});
