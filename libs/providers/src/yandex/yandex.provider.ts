import { Injectable } from '@nestjs/common';
import {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  EmbeddingRequest,
  EmbeddingResponse,
  ErrorCode,
  GatewayError,
} from '@xrouter/common';
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
  toYandexRequest,
  yandexHeaders,
} from './yandex.mapper';
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

/**
 * YandexGPT through the native Foundation Models API (docs/provider-protocols.md §3, mapping §6.3): `/completion` for chat
 * (streams are NDJSON with cumulative text), `/textEmbedding` one text per call, `/tokenize` as the health probe.
 * Non-2xx answers become GatewayErrors in UpstreamHttpClient from their HTTP status (grpc 3 → 400 BAD_REQUEST,
 * 16 → 401 UPSTREAM_AUTH, 5 → 404 MODEL_NOT_FOUND, 8 → 429 RATE_LIMITED with Retry-After, 13/14 → UPSTREAM_5XX).
 */
@Injectable()
export class YandexProvider implements LlmProvider {
  readonly type = 'yandex' as const;

  constructor(private readonly http: UpstreamHttpClient) {}

  async chat(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatCompletion> {
    const body = toYandexRequest(request, ctx.target, false);
    const answer = await this.http.sendJson<YandexEnvelope>(ctx.target.provider, {
      method: 'POST',
      url: upstreamUrl(ctx.target, '/completion'),
      headers: yandexHeaders(ctx.target, ctx.requestId),
      body: JSON.stringify(body),
      signal: ctx.signal,
      onResponseStart: ctx.onResponseStart,
    });
    return fromYandexCompletion(answer, ctx);
  }

  /** Resolves once Yandex answered 200; the chunks are read as the caller iterates. */
  async chatStream(request: ChatCompletionRequest, ctx: CallContext): Promise<ChatChunkStream> {
    const body = toYandexRequest(request, ctx.target, true);
    const response = await this.http.send(ctx.target.provider, {
      method: 'POST',
      url: upstreamUrl(ctx.target, '/completion'),
      headers: yandexHeaders(ctx.target, ctx.requestId),
      body: JSON.stringify(body),
      signal: ctx.signal,
      onResponseStart: ctx.onResponseStart,
    });
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
    const headers = yandexHeaders(ctx.target, ctx.requestId);
    const dim = typeof request.dimensions === 'number' ? { dim: String(request.dimensions) } : {};
    const embeddings = await mapBounded(
      inputs as string[],
      YANDEX_EMBEDDING_CONCURRENCY,
      ctx.signal,
      async (text, signal): Promise<YandexEmbedding> => {
        const body: YandexEmbeddingRequest = { modelUri, text, ...dim };
        const answer = await this.http.sendJson<YandexEmbeddingResponse>(ctx.target.provider, {
          method: 'POST',
          url: upstreamUrl(ctx.target, '/textEmbedding'),
          headers,
          body: JSON.stringify(body),
          signal,
          // The first text's answer starts the batch's answer: the attempt moves to its whole bound.
          onResponseStart: ctx.onResponseStart,
        });
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
    const answer = await this.http.sendJson<YandexTokenizeResponse>(target.provider, {
      method: 'POST',
      url: upstreamUrl(target, '/tokenize'),
      headers: yandexHeaders(target),
      body: JSON.stringify(body),
      signal,
    });
    const tokens = answer?.tokens ?? answer?.result?.tokens;
    if (!Array.isArray(tokens)) {
      throw new GatewayError(
        ErrorCode.UPSTREAM_BAD_RESPONSE,
        `${target.provider.id}: the tokenize answer has no tokens`,
      );
    }
    return [...YANDEX_MODEL_IDS];
  }
}
