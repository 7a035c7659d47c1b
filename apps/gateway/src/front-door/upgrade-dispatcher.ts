import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { SetMetadata, type INestApplication, type Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { ErrorCode, GatewayError, assignRequestId, sendOpenAiError } from '@xrouter/common';
import { Admission } from './admission';
import { declaredRoutes, pathOf, type DeclaredRoute } from './route-table';

const WEBSOCKET_SESSIONS = 'xrouter:websocket-sessions';

/** What serves the sockets of a {@link WebSocketRoute}. */
export interface WebSocketSessions {
  /** A socket whose upgrade request the app's guards admitted (`req.principal` is set). */
  open(socket: WebSocket, req: IncomingMessage): void;
  /** Takes nothing new, lets what is running finish, then closes every socket with a normal code. */
  drain(): Promise<void>;
}

/**
 * The GET route it decorates also takes WebSocket upgrades, served by `sessions` (a provider of the app). The
 * upgrade request goes through the same global guards as any request of the route — credential and scopes from
 * its `Authorization` header, rate limit — before the handshake is answered; a plain GET reaches the handler.
 */
export const WebSocketRoute = (sessions: Type<WebSocketSessions>): MethodDecorator =>
  SetMetadata(WEBSOCKET_SESSIONS, sessions);

interface UpgradeRoute {
  route: DeclaredRoute;
  fn: (...args: unknown[]) => unknown;
  sessions: WebSocketSessions;
}

/**
 * Takes the HTTP server's `upgrade` requests for the {@link WebSocketRoute} routes (from the controllers' metadata,
 * like the fast dispatcher's table): admits each with the app's global guards on a real response object, so a
 * refusal is the same 401/403/429 in OpenAI's envelope a plain request gets, then hands the socket to `ws`.
 */
export class UpgradeDispatcher {
  private readonly routes = new Map<string, UpgradeRoute>();
  private readonly server: WebSocketServer;
  private draining = false;

  private constructor(
    private readonly admission: Admission,
    maxMessageBytes: number,
  ) {
    this.server = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
  }

  static fromApp(app: INestApplication, maxMessageBytes: number): UpgradeDispatcher {
    const dispatcher = new UpgradeDispatcher(Admission.of(app), maxMessageBytes);
    for (const route of declaredRoutes(app.get(ModulesContainer))) {
      const fn = (route.controller.prototype as Record<string, (...args: unknown[]) => unknown>)[route.handler];
      const sessions = Reflect.getMetadata(WEBSOCKET_SESSIONS, fn) as Type<WebSocketSessions> | undefined;
      if (!sessions) continue;
      if (route.method !== 'GET') throw new Error(`${route.method} ${route.path}: WebSocket routes are GET routes`);
      dispatcher.routes.set(route.path, { route, fn, sessions: app.get(sessions, { strict: false }) });
    }
    return dispatcher;
  }

  /** Serves one `upgrade` event of the HTTP server; never rejects. */
  async handle(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    res.shouldKeepAlive = false;
    assignRequestId(req, res);
    const refuse = (error: unknown) => {
      res.once('finish', () => socket.destroy());
      sendOpenAiError(req, res, error);
    };
    const entry = req.method === 'GET' ? this.routes.get(pathOf(req.url ?? '')) : undefined;
    if (!entry) return refuse(new GatewayError(ErrorCode.NOT_FOUND, `No WebSocket is served at ${req.url}`));
    if (this.draining) {
      return refuse(
        new GatewayError(ErrorCode.SERVICE_UNAVAILABLE, 'This replica is shutting down', { retryAfterMs: 1_000 }),
      );
    }
    try {
      await this.admission.admit(req, res, entry.route.controller, entry.fn);
    } catch (error) {
      return refuse(error);
    }
    res.detachSocket(socket as Socket);
    this.server.handleUpgrade(req, socket, head, (ws) => entry.sessions.open(ws, req));
  }

  /** On shutdown: no new sockets; every route's sessions finish what they run and close. */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.all([...this.routes.values()].map((entry) => entry.sessions.drain()));
  }
}
