import { createServer, type Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { ExpressAdapter } from '@nestjs/platform-express';

export interface HttpTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

/**
 * How often node:http looks for requests past their headers or request timeout. Its default, 30 s, would let a
 * client outlast a 30 s timeout by as much again: a tenth of the shorter timeout, at most a second, at least 50 ms.
 */
export function connectionsCheckingIntervalMs(timeouts: HttpTimeouts): number {
  return Math.max(50, Math.min(1_000, Math.floor(Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) / 10)));
}

/**
 * Nest's express adapter with the node:http server built with the gateway's timeouts (the checking interval can
 * only be given when the server is created). Past its timeout a request gets node's own 408 and the socket closes.
 */
export class TimedExpressAdapter extends ExpressAdapter {
  constructor(private readonly timeouts: HttpTimeouts) {
    super();
  }

  override initHttpServer(): void {
    this.httpServer = createServer(
      {
        headersTimeout: this.timeouts.headersTimeoutMs,
        requestTimeout: this.timeouts.requestTimeoutMs,
        keepAliveTimeout: this.timeouts.keepAliveTimeoutMs,
        connectionsCheckingInterval: connectionsCheckingIntervalMs(this.timeouts),
      },
      this.getInstance(),
    );
  }
}

/**
 * Stops accepting connections; resolves once every open one has ended. `http.Server#close` would also destroy the
 * idle keep-alive connections (node >= 19 does), racing a request a client may be sending on one at that moment: it
 * gets ECONNRESET. Left open, each ends after the answer to its next request (which says `connection: close` while
 * draining) or when its keep-alive timeout runs out — the close its client was told to expect. The headers and
 * request timeouts keep applying meanwhile.
 */
export function stopAccepting(server: Server): Promise<void> {
  return new Promise((resolve) => NetServer.prototype.close.call(server, () => resolve()));
}
