import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
import { STORE, type Store } from '@xrouter/store';
import { readLines } from '../http/sse';
import { guardStream } from '../http/guard-stream';
import { UpstreamHttpClient, UpstreamResponse } from '../http/upstream-http.client';
import type { CallContext, ChatChunkStream, DeploymentTarget, LlmProvider } from '../llm-provider.interface';
import {
  YANDEX_MODEL_IDS,
  YandexEmbedding,
  YandexStreamTranslator,
  buildEmbeddingResponse,
  completionModelUri,
  embeddingModelUri,
  fromYandexCompletion,
  fromYandexEmbedding,
  staticAuthorization,
  toYandexRequest,
  yandexHeaders,
} from './yandex.mapper';
import { InFlightLimiter, type Release } from './in-flight.limiter';
import { YandexIamTokenCache, type YandexIamTokenCacheOptions } from './yandex-iam-token.cache';
import type {
  YandexEmbeddingRequest,
  YandexEmbeddingResponse,
  YandexEnvelope,
  YandexTokenizeRequest,
  YandexTokenizeResponse,
} from './yandex.types';
import { upstreamUrl } from '../http/upstream-url';

/** `/textEmbedding` takes one text per call; this many calls of one request run at once (the quota is 10 req/s). */
export const YANDEX_EMBEDDING_CONCURRENCY = 8;

/** Optional tuning of {@link YandexProvider} (tests shorten the waits). */
export interface YandexProviderOptions {
  iam?: YandexIamTokenCacheOptions;
  /** How long a generation over the in-flight limit waits for a slot (default 2 s). */
  inFlightWaitMs?: number;
}
export const YANDEX_PROVIDER_OPTIONS = Symbol('YANDEX_PROVIDER_OPTIONS');

/**
 * `fn` over `items` with at most `limit` calls in flight, results in input order. The first failure stops new calls,
 * aborts the ones in flight (with that failure as the reason) and is thrown once every call has settled.
 */
async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const local = new AbortController();
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        // One signal per call: undici keeps an abort listener per request until its body is done, so sharing one
        // signal across many calls trips Node's max-listeners warning. AbortSignal.any adds no listeners.
        results[index] = await fn(items[index], AbortSignal.any([signal, local.signal]));
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          local.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  if (failure !== undefined) throw failure.error;
  return results;
}

/** Concurrent generations per folder when the account sets no `max_in_flight`: Yandex's documented quota. */
export const YANDEX_DEFAULT_MAX_IN_FLIGHT = 10;
/** How long a generation beyond the limit waits for a slot before it is refused with 429. */
export const YANDEX_IN_FLIGHT_WAIT_MS = 2_000;

/** The model API (not IAM) refused the credential: expired, revoked, or wrong. */
function isRefused(error: unknown): boolean {
  return error instanceof GatewayError && error.code === ErrorCode.UPSTREAM_AUTH && error.upstreamStatus === 401;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * YandexGPT through the native Foundation Models API (docs/provider-protocols.md §3, mapping §6.3): `/completion` for chat
 * (streams are NDJSON with cumulative text), `/textEmbedding` one text per call, `/tokenize` as the health probe.
 * Non-2xx answers become GatewayErrors in UpstreamHttpClient from their HTTP status (grpc 3 → 400 BAD_REQUEST,
 * 16 → 401 UPSTREAM_AUTH, 5 → 404 MODEL_NOT_FOUND, 8 → 429 RATE_LIMITED with Retry-After, 13/14 → UPSTREAM_5XX).
 *
 * Credentials, first configured wins: `api_key` (`Api-Key`); a service-account key (IAM tokens from
 * {@link YandexIamTokenCache}; a 401 drops the token and retries once); a static `iam_token` (`Bearer`), refused here
 * without a call once past `iam_token_expires_at` or after Yandex answered it 401, so an expired token gives one clear
 * error instead of a 401 per request. Generations (`/completion`) hold a slot of the folder's in-flight limit.
 */
@Injectable()
export class YandexProvider implements LlmProvider {
  readonly type = 'yandex' as const;
  private readonly iam: YandexIamTokenCache;
  private readonly inFlight: InFlightLimiter;
  /** Digests of static IAM tokens Yandex refused (401): they never become valid again. */
  private readonly refusedStatic = new Set<string>();

  constructor(
    private readonly http: UpstreamHttpClient,
    @Inject(STORE) store: Store,
    @Optional() @Inject(YANDEX_PROVIDER_OPTIONS) options: YandexProviderOptions = {},
  ) {
    this.iam = new YandexIamTokenCache(http, store, options.iam);
    this.inFlight = new InFlightLimiter(options.inFlightWaitMs ?? YANDEX_IN_FLIGHT_WAIT_MS);
  }

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const body = JSON.stringify(toYandexRequest(request, ctx.target, false));
    const release = await this.generationSlot(ctx);
    try {
      const answer = await this.withAuth(ctx.target, ctx.signal, (authorization) =>
        this.http.sendJson<YandexEnvelope>(ctx.target.provider, {
          method: 'POST',
          url: upstreamUrl(ctx.target, '/completion'),
          headers: yandexHeaders(ctx.target, authorization, ctx.requestId),
          body,
          signal: ctx.signal,
          onResponseStart: ctx.onResponseStart,
        }),
      );
      return fromYandexCompletion(answer, ctx);
    } finally {
      release();
    }
  }

  /** Resolves once Yandex answered 200; the chunks are read as the caller iterates. The slot is held to the end. */
  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const body = JSON.stringify(toYandexRequest(request, ctx.target, true));
    const release = await this.generationSlot(ctx);
    let response: UpstreamResponse;
    try {
      response = await this.withAuth(ctx.target, ctx.signal, (authorization) =>
        this.http.send(ctx.target.provider, {
          method: 'POST',
          url: upstreamUrl(ctx.target, '/completion'),
          headers: yandexHeaders(ctx.target, authorization, ctx.requestId),
          body,
          signal: ctx.signal,
          onResponseStart: ctx.onResponseStart,
        }),
      );
    } catch (error) {
      release();
      throw error;
    }
    // Released when the body closes, however that happens (finished, failed, aborted, never read).
    response.body.once('close', release);
    return guardStream(response.body, ctx, this.chunks(response, ctx));
  }

  /** The client's chunks from Yandex's NDJSON lines; a stream that stops before a final status is truncated. */
  private async *chunks(response: UpstreamResponse, ctx: CallContext): AsyncGenerator<ChatCompletionChunk> {
    const providerId = ctx.target.provider.id;
    const translator = new YandexStreamTranslator(ctx);
    for await (const line of readLines(response.body)) {
      let parsed: YandexEnvelope;
      try {
        parsed = JSON.parse(line) as YandexEnvelope;
      } catch {
        throw new GatewayError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${providerId}: a stream line is not valid JSON`);
      }
      for (const chunk of translator.accept(parsed)) yield chunk;
      if (translator.finished) break;
    }
    translator.end();
  }

  async embeddings(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const providerId = ctx.target.provider.id;
    const inputs: unknown[] = typeof request.input === 'string' ? [request.input] : request.input;
    if (!Array.isArray(inputs) || inputs.length === 0 || inputs.some((text) => typeof text !== 'string')) {
      throw new GatewayError(ErrorCode.BAD_REQUEST, 'input must be a string or a non-empty array of strings', {
        param: 'input',
      });
    }
    const modelUri = embeddingModelUri(ctx.target);
    const dim = typeof request.dimensions === 'number' ? { dim: String(request.dimensions) } : {};
    const embeddings = await mapBounded(
      inputs as string[],
      YANDEX_EMBEDDING_CONCURRENCY,
      ctx.signal,
      async (text, signal): Promise<YandexEmbedding> => {
        const body: YandexEmbeddingRequest = { modelUri, text, ...dim };
        const answer = await this.withAuth(ctx.target, signal, (authorization) =>
          this.http.sendJson<YandexEmbeddingResponse>(ctx.target.provider, {
            method: 'POST',
            url: upstreamUrl(ctx.target, '/textEmbedding'),
            headers: yandexHeaders(ctx.target, authorization, ctx.requestId),
            body: JSON.stringify(body),
            signal,
            // The first text's answer starts the batch's answer: the attempt moves to its whole bound.
            onResponseStart: ctx.onResponseStart,
          }),
        );
        return fromYandexEmbedding(answer, providerId);
      },
    );
    return buildEmbeddingResponse(ctx, embeddings);
  }

  /**
   * Yandex has no model list: a real `/tokenize` call for the first known model proves the credentials, the folder
   * and the host, then the fixed list of docs/provider-protocols.md §3.12 is returned.
   */
  async listModels(target: DeploymentTarget, signal: AbortSignal): Promise<string[]> {
    const body: YandexTokenizeRequest = { modelUri: completionModelUri(target, YANDEX_MODEL_IDS[0]), text: 'ping' };
    const answer = await this.withAuth(target, signal, (authorization) =>
      this.http.sendJson<YandexTokenizeResponse>(target.provider, {
        method: 'POST',
        url: upstreamUrl(target, '/tokenize'),
        headers: yandexHeaders(target, authorization),
        body: JSON.stringify(body),
        signal,
      }),
    );
    const tokens = answer?.tokens ?? answer?.result?.tokens;
    if (!Array.isArray(tokens)) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `${target.provider.id}: the tokenize answer has no tokens`,
      );
    }
    return [...YANDEX_MODEL_IDS];
  }

  /** A slot of the folder's in-flight generations (`max_in_flight`, default 10), waited for briefly. */
  private generationSlot(ctx: CallContext): Promise<Release> {
    const { provider, account } = ctx.target;
    const folder = account.folder_id ?? account.id;
    return this.inFlight.acquire(
      `${provider.id}\n${folder}`,
      account.max_in_flight ?? YANDEX_DEFAULT_MAX_IN_FLIGHT,
      ctx.signal,
      () => `${provider.id}: folder ${folder}`,
    );
  }

  /** Runs `call` with the account's `Authorization` value (see the class comment for the order). */
  private withAuth<T>(
    target: DeploymentTarget,
    signal: AbortSignal,
    call: (authorization: string) => Promise<T>,
  ): Promise<T> {
    const { provider, account } = target;
    if (account.api_key) return call(`Api-Key ${account.api_key}`);
    if (account.service_account_key) {
      return this.iam.withToken(target, signal, isRefused, (token) => call(`Bearer ${token}`));
    }
    const authorization = staticAuthorization(target);
    if (!authorization) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${provider.id}: account '${account.id}' has no api_key, service-account key or iam_token`,
      );
    }
    return this.withStaticIamToken(target, authorization, call);
  }

  private async withStaticIamToken<T>(
    target: DeploymentTarget,
    authorization: string,
    call: (authorization: string) => Promise<T>,
  ): Promise<T> {
    const { provider, account } = target;
    const expired = (why: string): GatewayError =>
      new GatewayError(
        ErrorCode.UPSTREAM_AUTH,
        `${provider.id}: the iam_token of account '${account.id}' ${why}; IAM tokens live at most 12 h: ` +
          'configure a service-account key (service_account_key_file) to have them refreshed',
        { upstreamStatus: 401 },
      );
    const expiresAt = account.iam_token_expires_at ? Date.parse(account.iam_token_expires_at) : NaN;
    if (Date.now() >= expiresAt) throw expired(`expired at ${account.iam_token_expires_at}`);
    const id = digest(authorization);
    if (this.refusedStatic.has(id)) throw expired('was refused by Yandex (expired or revoked)');
    try {
      return await call(authorization);
    } catch (error) {
      if (!isRefused(error)) throw error;
      this.refusedStatic.add(id);
      throw expired('was refused by Yandex (expired or revoked)');
    }
  }
}
