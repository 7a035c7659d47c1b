import { rootCertificates } from 'node:tls';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { loadCaBundle, type ProviderConfig } from '@xrouter/config';
import { ErrorCode, GatewayError } from '@xrouter/common';
import { PROVIDERS_OPTIONS, type ProvidersModuleOptions } from '../providers.constants';
import { transportError, upstreamHttpError } from './upstream-error';

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  /** Absolute URL; its origin picks the pool. */
  url: string;
  headers: Record<string, string>;
  /** JSON text, or bytes (a multipart upload). */
  body?: string | Buffer;
  signal: AbortSignal;
  /** Called once the response headers are in (see `CallContext.onResponseStart`). */
  onResponseStart?: () => void;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

const KEEP_ALIVE_MS = 30_000;

/** The provider's extra CA certificates: read by the config loader at start-up, else (a config built in code) now. */
function caCertificates(provider: ProviderConfig): string[] {
  return provider.ca_certs ?? (provider.ca_file ? loadCaBundle(provider.ca_file, provider.id) : []);
}

/** Parsed upstream URLs kept at most (they come from the routing config: a handful per provider). */
const MAX_PARSED_URLS = 1_000;

/**
 * The gateway's only HTTP client to upstreams: one undici Pool per (provider, origin), keep-alive, a per-provider
 * CA bundle added to Node's roots (never a global TLS opt-out). Non-2xx answers become GatewayErrors here, so every
 * adapter maps upstream failures the same way.
 */
@Injectable()
export class UpstreamHttpClient implements OnApplicationShutdown {
  private readonly pools = new Map<string, Pool>();
  /** origin + path per absolute URL: the same few URLs are parsed on every request otherwise. */
  private readonly parsed = new Map<string, { origin: string; path: string }>();

  constructor(@Inject(PROVIDERS_OPTIONS) private readonly options: ProvidersModuleOptions) {}

  private pool(provider: ProviderConfig, origin: string): Pool {
    const key = `${provider.id} ${origin}`;
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: provider.max_connections ?? 128,
        keepAliveTimeout: KEEP_ALIVE_MS,
        pipelining: 1,
        connect: {
          timeout: this.options.connectTimeoutMs,
          ...(provider.ca_file ? { ca: [...rootCertificates, ...caCertificates(provider)] } : {}),
        },
        // Streams and slow models are governed by the router's AbortSignal deadlines, not undici's own timers.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Sends a request; resolves on a 2xx with the body still unread; rejects with a GatewayError otherwise. */
  async send(provider: ProviderConfig, request: UpstreamRequest): Promise<UpstreamResponse> {
    const url = this.parse(request.url);
    let response: Dispatcher.ResponseData;
    try {
      response = await this.pool(provider, url.origin).request({
        method: request.method,
        path: url.path,
        headers: request.headers,
        body: request.body,
        signal: request.signal,
      });
    } catch (error) {
      throw transportError(provider.id, error, request.signal);
    }
    request.onResponseStart?.();
    if (response.statusCode >= 200 && response.statusCode < 300) {
      return { status: response.statusCode, headers: response.headers, body: response.body };
    }
    const text = await response.body.text().catch(() => '');
    throw upstreamHttpError(provider.id, response.statusCode, text, response.headers);
  }

  private parse(absolute: string): { origin: string; path: string } {
    let found = this.parsed.get(absolute);
    if (!found) {
      const url = new URL(absolute);
      found = { origin: url.origin, path: url.pathname + url.search };
      if (this.parsed.size >= MAX_PARSED_URLS) this.parsed.clear();
      this.parsed.set(absolute, found);
    }
    return found;
  }

  /** Sends a request and parses a JSON answer. */
  async sendJson<T>(provider: ProviderConfig, request: UpstreamRequest): Promise<T> {
    const response = await this.send(provider, request);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      throw transportError(provider.id, error, request.signal);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${provider.id}: the answer is not valid JSON`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.close()));
    this.pools.clear();
  }
}
