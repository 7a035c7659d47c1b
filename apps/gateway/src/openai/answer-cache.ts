import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { ChatCompletionRequest } from '@xrouter/common';
import { XRouterMetrics } from '@xrouter/metrics';
import { STORE, StoreOutageLog, StoreUnavailableError, type Store } from '@xrouter/store';
import { appConfig } from '../app.config';
import type { CallerContext } from './request-context';

/** What the cache holds for one request: the answer, and the deployment that produced it (for the route headers). */
export interface CachedAnswer<T> {
  target: string;
  value: T;
}

/** JSON with object keys sorted at every depth, so two spellings of one request read the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The store key of a request's answer: the credential's id and a SHA-256 of the canonical request — the model and
 * every field sent upstream (messages, sampling, stop, tools, user, …) — so an answer is never shared across keys
 * and never served for a request that differs in anything but the spelling of its JSON. `stream` is left out: only
 * non-streamed answers are cached.
 */
export function answerCacheKey(credentialId: string, request: ChatCompletionRequest): string {
  const { stream: _stream, stream_options: _options, ...asked } = request;
  const digest = createHash('sha256').update(canonicalJson(asked)).digest('base64url');
  return `answers:${credentialId}:${digest}`;
}

/**
 * The exact answer cache: opt-in per key (its `cache` setting) or per request (`x-xrouter-cache: use`; `skip`
 * bypasses the key's setting), for non-streamed chat (and so legacy) completions, for `ANSWER_CACHE_TTL_MS`. The
 * store failing is a miss (and a failed write is forgotten): the cache never fails a request.
 */
@Injectable()
export class AnswerCache {
  private readonly outage: StoreOutageLog;

  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(appConfig.KEY) private readonly settings: ConfigType<typeof appConfig>,
    metrics: XRouterMetrics,
  ) {
    this.outage = new StoreOutageLog(new Logger(AnswerCache.name), metrics, 'answer cache', 'requests go upstream');
  }

  /** The store key for this caller's request, or null when the answer is not to be cached. */
  keyFor(caller: CallerContext, request: ChatCompletionRequest): string | null {
    const wanted = caller.cache === 'use' || (caller.cache === null && caller.principal.answerCache === true);
    return wanted ? answerCacheKey(caller.principal.credentialId, request) : null;
  }

  async get<T>(key: string): Promise<CachedAnswer<T> | null> {
    try {
      const text = await this.store.get(key);
      this.outage.answered();
      return text === null ? null : (JSON.parse(text) as CachedAnswer<T>);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.outage.failed(error);
      return null;
    }
  }

  /** Stores the answer; never awaited by the request. */
  set<T>(key: string, answer: CachedAnswer<T>): void {
    this.store.set(key, JSON.stringify(answer), this.settings.answerCacheTtlMs).then(
      () => this.outage.answered(),
      (error: unknown) => {
        if (error instanceof StoreUnavailableError) this.outage.failed(error);
      },
    );
  }
}
