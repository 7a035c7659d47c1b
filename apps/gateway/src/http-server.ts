import { createServer } from 'node:http';
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
