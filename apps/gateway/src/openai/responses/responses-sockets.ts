import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { WebSocket, RawData } from 'ws';
import type { Principal } from '@xrouter/auth';
import {
  clientClosed,
  createValidationPipe,
  ErrorCode,
  GatewayError,
  toGatewayError,
  toOpenAiErrorBody,
} from '@xrouter/common';
import { RateLimitService } from '@xrouter/rate-limit';
import { appConfig } from '../../app.config';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../json-body';
import type { WebSocketSessions } from '../../front-door/upgrade-dispatcher';
import type { CallerContext } from '../request-context';
import { ResponseCreateRequestDto } from './response-create-request.dto';
import { ResponsesService, type ConnectionState } from './responses.service';

/** Past this many bytes waiting to be written to a socket, the next event waits until they are (a slow reader). */
const HIGH_WATER_BYTES = 256 * 1024;
/** `response.create` messages a socket may have waiting behind the running one. */
const MAX_QUEUED = 16;

/**
 * One WebSocket of the Responses API's WebSocket mode: `response.create` messages in, the same events as the SSE
 * stream out, one response after another. A bad message is answered with an `error` event and the socket stays
 * open; each response is admitted (rate limit, then the call pipeline's model and budget checks), routed, recorded
 * and limited exactly like `POST /v1/responses` with `stream: true`, whose service it calls.
 */
class ResponsesSocket {
  private readonly gone = new AbortController();
  /** The last response answered on this socket, for `previous_response_id` without the store. */
  private readonly state: ConnectionState = { last: null };
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private running = false;
  private draining = false;
  private idleTimer?: NodeJS.Timeout;
  readonly closed: Promise<void>;

  constructor(
    private readonly socket: WebSocket,
    private readonly principal: Principal,
    private readonly owner: ResponsesSockets,
    private readonly idleMs: number,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => {
      clearTimeout(this.idleTimer);
      this.gone.abort(clientClosed());
    });
    socket.on('message', (data, isBinary) => this.receive(data, isBinary));
    socket.on('error', () => undefined);
    this.armIdle();
  }

  /** On shutdown: nothing new is started; once the running and queued responses are done, a normal close. */
  drain(): Promise<void> {
    this.draining = true;
    if (!this.running && this.queued === 0) this.socket.close(1000, 'server shutting down');
    return this.closed;
  }

  private receive(data: RawData, isBinary: boolean): void {
    this.armIdle();
    let message: unknown;
    try {
      if (isBinary) throw new GatewayError(ErrorCode.BAD_REQUEST, 'Messages are JSON text frames.');
      message = JSON.parse(rawText(data));
      if (nestsDeeperThan(message, MAX_JSON_DEPTH)) {
        throw new GatewayError(ErrorCode.INVALID_JSON, `The message nests deeper than ${MAX_JSON_DEPTH} levels.`);
      }
    } catch (error) {
      const refusal =
        error instanceof GatewayError
          ? error
          : new GatewayError(ErrorCode.INVALID_JSON, 'The message is not valid JSON.');
      return void this.sendError(refusal);
    }
    const type = (message as { type?: unknown } | null)?.type;
    if (type !== 'response.create') {
      return void this.sendError(
        new GatewayError(ErrorCode.BAD_REQUEST, `Unknown message type '${String(type)}': send 'response.create'.`, {
          param: 'type',
        }),
      );
    }
    if (this.draining) {
      return void this.sendError(
        new GatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'This replica is shutting down: reconnect', {
          retryAfterMs: 1_000,
        }),
      );
    }
    if (this.queued >= MAX_QUEUED) {
      return void this.sendError(
        new GatewayError(ErrorCode.RATE_LIMITED, `At most ${MAX_QUEUED} responses may wait behind the running one.`),
      );
    }
    this.queued++;
    this.queue = this.queue.then(() => this.respond(message as Record<string, unknown>));
  }

  /** One `response.create`: validated like the HTTP body, admitted, and streamed back event by event. */
  private async respond(message: Record<string, unknown>): Promise<void> {
    this.queued--;
    this.running = true;
    clearTimeout(this.idleTimer);
    try {
      if (this.gone.signal.aborted) return;
      const { type: _type, ...create } = message;
      const body = await this.owner.validate({ ...create, stream: true });
      await this.owner.limit(this.principal);
      // Streams are never answered from the answer cache: no directive.
      const caller: CallerContext = {
        principal: this.principal,
        requestId: randomUUID(),
        signal: this.gone.signal,
        cache: null,
      };
      const outcome = await this.owner.responses.stream(body, caller, this.state);
      for await (const event of outcome.value) await this.send(event);
      outcome.afterAnswer();
    } catch (error) {
      if (!this.gone.signal.aborted) await this.sendError(error);
    } finally {
      this.running = false;
      if (this.draining && this.queued === 0) this.socket.close(1000, 'server shutting down');
      else this.armIdle();
    }
  }

  /** Sends one event; when the reader is behind, waits until what is buffered is written (memory stays bounded). */
  private send(event: unknown): Promise<void> | void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    const text = JSON.stringify(event);
    if (this.socket.bufferedAmount + text.length <= HIGH_WATER_BYTES) return this.socket.send(text);
    return new Promise((resolve) => this.socket.send(text, () => resolve()));
  }

  private sendError(error: unknown): Promise<void> | void {
    const failure = toGatewayError(error);
    const body = toOpenAiErrorBody(failure).error;
    // The SDK's ResponseErrorEvent (code, message, param at the top), with the HTTP status and the envelope too.
    return this.send({
      type: 'error',
      sequence_number: 0,
      status: failure.status,
      code: body.code,
      message: body.message,
      param: body.param,
      error: body,
    });
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.idleMs <= 0) return;
    this.idleTimer = setTimeout(() => {
      if (!this.running && this.queued === 0) this.socket.close(1000, 'idle');
    }, this.idleMs);
    this.idleTimer.unref();
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/** The Responses API's WebSocket mode (`GET /v1/responses` upgraded): every open socket, and their drain. */
@Injectable()
export class ResponsesSockets implements WebSocketSessions {
  private readonly logger = new Logger(ResponsesSockets.name);
  private readonly sockets = new Set<ResponsesSocket>();
  private readonly validation = createValidationPipe();
  private readonly idleMs: number;

  constructor(
    readonly responses: ResponsesService,
    private readonly limiter: RateLimitService,
    @Inject(appConfig.KEY) settings: ConfigType<typeof appConfig>,
  ) {
    this.idleMs = settings.webSocketIdleMs;
  }

  open(socket: WebSocket, req: IncomingMessage & { principal?: Principal }): void {
    if (!req.principal) throw new Error('A Responses socket was opened without an admitted principal');
    const session = new ResponsesSocket(socket, req.principal, this, this.idleMs);
    this.sockets.add(session);
    void session.closed.then(() => this.sockets.delete(session));
  }

  async drain(): Promise<void> {
    if (this.sockets.size > 0) this.logger.log(`Draining ${this.sockets.size} Responses WebSocket(s)`);
    await Promise.all([...this.sockets].map((socket) => socket.drain()));
  }

  /** A `response.create` body through the app's validation pipe, as `POST /v1/responses` validates its body. */
  async validate(body: Record<string, unknown>): Promise<ResponseCreateRequestDto> {
    return (await this.validation.transform(body, {
      type: 'body',
      metatype: ResponseCreateRequestDto,
    })) as ResponseCreateRequestDto;
  }

  /** Each response on a socket counts against the credential's limits as one request, as the door counts one. */
  async limit(principal: Principal): Promise<void> {
    await this.limiter.check(principal);
  }
}
